import { durationReport } from './duration-report';

export const mttrReport = durationReport('mttr', 'ttr', 'resolved');
