import type { Ci, CmdbDocument, Relation } from '../../src/domain/cmdb';

/**
 * A data centre of about `size` CIs, deterministic: racks of 40 hosts, each rack with a
 * top-of-rack switch connected to a core switch; every fourth host runs a database and every
 * host a service, each service depending on the database of its rack.
 *   host-R-H  part_of rack-R, connected_to tor-R;  tor-R connected_to core-(R % 4)
 *   db-R-K    runs_on host-R-(4K)
 *   svc-R-H   runs_on host-R-H, depends_on db-R-(H % 10)
 * About 2.3 relations per CI, labels like a real CMDB export (owner, environment, hostname).
 */
export function generateDataCentre(size: number): CmdbDocument {
  const cis: Ci[] = [];
  const relations: Relation[] = [];
  const perRack = 2 + 40 + 10 + 40;
  const racks = Math.max(1, Math.floor((size - 4) / perRack));
  const network = { owner: 'network', environment: 'prod' };
  for (let c = 0; c < 4; c++) cis.push({ id: `core-${c}`, type: 'switch', labels: network });
  for (let r = 0; r < racks; r++) {
    cis.push({ id: `rack-${r}`, type: 'rack', labels: { site: `dc-${r % 3}`, row: String(r % 20) } });
    cis.push({ id: `tor-${r}`, type: 'switch', labels: { ...network, hostname: `tor-${r}.net.example` } });
    relations.push({ from: `tor-${r}`, type: 'connected_to', to: `core-${r % 4}` });
    for (let h = 0; h < 40; h++) {
      const host = `host-${r}-${h}`;
      const environment = r % 5 === 0 ? 'staging' : 'prod';
      const labels = { owner: `team-${r % 17}`, environment, hostname: `${host}.example` };
      cis.push({ id: host, type: 'host', labels });
      relations.push({ from: host, type: 'part_of', to: `rack-${r}` });
      relations.push({ from: host, type: 'connected_to', to: `tor-${r}` });
    }
    for (let k = 0; k < 10; k++) {
      cis.push({ id: `db-${r}-${k}`, type: 'database', labels: { owner: 'dba', engine: 'postgresql' } });
      relations.push({ from: `db-${r}-${k}`, type: 'runs_on', to: `host-${r}-${4 * k}` });
    }
    for (let h = 0; h < 40; h++) {
      const svc = `svc-${r}-${h}`;
      cis.push({ id: svc, type: 'service', labels: { owner: `team-${r % 17}`, assignment_group: `ag-${h % 7}` } });
      relations.push({ from: svc, type: 'runs_on', to: `host-${r}-${h}` });
      relations.push({ from: svc, type: 'depends_on', to: `db-${r}-${h % 10}` });
    }
  }
  return { cis, relations };
}
