// Quell media type for Zabbix 6.0 and later (Alerts > Media types > Create media type, Type:
// Webhook). Paste this file as the Script; add these Parameters (name = value):
//
//   quell_url           = https://quell.example/ingest/zabbix
//   quell_token         = <Quell's ingest token>   (or a user macro: {$QUELL.TOKEN})
//   event_id            = {EVENT.ID}
//   event_value         = {EVENT.VALUE}
//   event_update        = {EVENT.UPDATE.STATUS}
//   recovery_event_id   = {EVENT.RECOVERY.ID}
//   event_name          = {EVENT.NAME}
//   event_severity      = {EVENT.NSEVERITY}
//   event_tags          = {EVENT.TAGSJSON}
//   event_date          = {EVENT.DATE}
//   event_time          = {EVENT.TIME}
//   recovery_date       = {EVENT.RECOVERY.DATE}
//   recovery_time       = {EVENT.RECOVERY.TIME}
//   event_opdata        = {EVENT.OPDATA}
//   trigger_id          = {TRIGGER.ID}
//   trigger_description = {TRIGGER.DESCRIPTION}
//   host                = {HOST.HOST}
//   host_name           = {HOST.NAME}
//   host_ip             = {HOST.IP}
//   zabbix_url          = {$ZABBIX.URL}
//
// Then give a user the media (Send to: quell) and an action sending problems, recoveries and
// (optionally) updates to it. Quell answers 202 once the event is durably queued; any other
// answer fails the alert, which Zabbix retries (Attempts on the media type).
// Macro values are data: they are put into JSON with JSON.stringify, never evaluated.

var Quell = {
    // A macro Zabbix could not resolve stays as its own text, e.g. "{EVENT.RECOVERY.ID}".
    value: function (params, name) {
        var v = params[name];
        if (typeof v !== 'string') return '';
        return /^\{[A-Z0-9_.$]+\}$/.test(v) ? '' : v;
    },

    // {EVENT.DATE} "2026.11.27" and {EVENT.TIME} "14:05:12" are in the Zabbix server's time
    // zone, which is this script's: Date() reads them as local time.
    isoTime: function (date, time) {
        var d = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(date);
        var t = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
        if (!d || !t) return undefined;
        var at = new Date(+d[1], +d[2] - 1, +d[3], +t[1], +t[2], +t[3]);
        return isNaN(at.getTime()) ? undefined : at.toISOString();
    },

    tags: function (text) {
        if (!text) return [];
        try {
            var list = JSON.parse(text);
            return Array.isArray(list) ? list : [];
        } catch (e) {
            return [];
        }
    },

    payload: function (params) {
        var v = function (name) { return Quell.value(params, name); };
        var p = {
            event_id: v('event_id'),
            event_value: v('event_value'),
            event_update: v('event_update'),
            recovery_event_id: v('recovery_event_id'),
            event_name: v('event_name'),
            event_severity: v('event_severity'),
            event_tags: Quell.tags(v('event_tags')),
            trigger_id: v('trigger_id'),
            host: v('host'),
            host_name: v('host_name'),
            host_ip: v('host_ip'),
            event_opdata: v('event_opdata'),
            trigger_description: v('trigger_description'),
            zabbix_url: v('zabbix_url')
        };
        var started = Quell.isoTime(v('event_date'), v('event_time'));
        if (started) p.started_at = started;
        var recovered = Quell.isoTime(v('recovery_date'), v('recovery_time'));
        if (recovered) p.recovered_at = recovered;
        return p;
    }
};

try {
    var params = JSON.parse(value);
    if (!Quell.value(params, 'quell_url')) throw 'the quell_url parameter is empty';
    var request = new HttpRequest();
    if (params.HTTPProxy) request.setProxy(params.HTTPProxy);
    request.addHeader('Content-Type: application/json');
    request.addHeader('Authorization: Bearer ' + Quell.value(params, 'quell_token'));
    var body = JSON.stringify(Quell.payload(params));
    Zabbix.log(4, '[Quell webhook] sending event ' + Quell.value(params, 'event_id'));
    var response = request.post(Quell.value(params, 'quell_url'), body);
    var status = request.getStatus();
    if (status !== 202) throw 'Quell answered HTTP ' + status + ': ' + String(response).substring(0, 500);
    return 'OK';
} catch (error) {
    Zabbix.log(3, '[Quell webhook] ' + error);
    throw 'Sending to Quell failed: ' + error;
}
