import { durationReport } from './duration-report';

export const mttaReport = durationReport('mtta', 'tta', 'acknowledged');
