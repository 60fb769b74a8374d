import type { AnyRunbookAction } from '../runbook-action';
import { execAction } from './exec-action';
import { httpAction } from './http-action';
import { incidentAction } from './incident-action';
import { notifyAction } from './notify-action';
import { ticketAction } from './ticket-action';
import { waitForAction } from './wait-for-action';

/**
 * Every action a runbook step may name (`action:`). Adding one is a file in this directory and
 * a line here: the Runbooks rule kind checks `action:` and `with:` against this list, and the
 * executor runs steps through it.
 */
export const RUNBOOK_ACTIONS: readonly AnyRunbookAction[] = [
  httpAction, execAction, notifyAction, waitForAction, incidentAction, ticketAction,
];

const BY_NAME = new Map(RUNBOOK_ACTIONS.map((a) => [a.name, a]));

export function actionByName(name: string): AnyRunbookAction | undefined {
  return BY_NAME.get(name);
}
