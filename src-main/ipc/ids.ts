/** Identifier validators shared by the contract's parts (contract.ts, fleet-contract.ts). */
import { str } from './validate.ts';

/** Source ids are made by main: `default`, `env-<n>`, `imported-<hex>`. */
export const SOURCE_ID = str({ min: 1, max: 64, pattern: /^[a-z0-9-]+$/ });
/** `<sourceId>/<context name>`. Context names are free-form in kubeconfig, so only length/control chars are limited. */
export const CLUSTER_ID = str({ min: 3, max: 320, pattern: /^[a-z0-9-]+\/.+$/s, printable: true });
