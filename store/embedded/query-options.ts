// mingo options shared by every query, update and aggregation of the embedded engine.
import type { Options } from 'mingo/types';

export const queryOptions: Partial<Options> = {
  // $where / $function / $accumulator would run caller-supplied JavaScript inside the hub process; MongoDB
  // runs them in a sandbox on the server. Filters can come from the admin API, so scripts stay off.
  scriptEnabled: false,
};
