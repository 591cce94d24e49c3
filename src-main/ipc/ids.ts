/** Identifier validators shared by the contract's parts (contract.ts, fleet-contract.ts). */
import { str } from './validate.ts';

/** Source ids are made by main: `default`, `env-<n>`, `imported-<hex>`. */
export const SOURCE_ID = str({ min: 1, max: 64, pattern: /^[a-z0-9-]+$/ });
/** `<sourceId>/<context name>`. Context names are free-form in kubeconfig, so only length/control chars are limited. */
export const CLUSTER_ID = str({ min: 3, max: 320, pattern: /^[a-z0-9-]+\/.+$/s, printable: true });

/** A DNS-1123 label (namespaces, containers, sites): 1–63 of [a-z0-9-], alphanumeric at both ends. */
export const DNS_LABEL = str({ min: 1, max: 63, pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/ });
/**
 * A DNS-1123 subdomain (node, pod and pool names, host names): labels joined by dots, at most 253
 * characters, as the API server validates them ("a..b" and "a.-b" are refused there, so here too).
 */
export const DNS_SUBDOMAIN = str({
  min: 1,
  max: 253,
  pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
});
