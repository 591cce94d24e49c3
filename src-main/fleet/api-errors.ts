/**
 * API server answers turned into AppErrors a field engineer can act on. A 403 from RBAC says who
 * may not do what where, and the rule an admin would add; an admission webhook's refusal is passed
 * on with its own reason (that is what the controller/webhook tells the user).
 */
import { AppError } from '../ipc/errors.ts';
import type { RbacRule } from '../ipc/fleet-types.ts';

/** What a request tried to do, in RBAC terms. */
export interface Access {
  verb: string;
  /** API group, "" for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** Absent for cluster-scoped resources (or "all namespaces"). */
  namespace?: string;
  name?: string;
}

interface Status {
  message?: string;
  reason?: string;
  details?: { causes?: { field?: string; message?: string }[] };
}

export function statusOf(body: unknown): Status {
  return typeof body === 'object' && body !== null ? (body as Status) : { message: String(body ?? '') };
}

export function resourceLabel(a: Pick<Access, 'group' | 'resource' | 'subresource'>): string {
  const r = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return a.group ? `${r}.${a.group}` : r;
}

export function ruleFor(a: Access): RbacRule {
  const rule: RbacRule = {
    apiGroups: [a.group],
    resources: [a.subresource ? `${a.resource}/${a.subresource}` : a.resource],
    verbs: [a.verb],
  };
  if (a.namespace) rule.namespace = a.namespace;
  return rule;
}

export function describeRule(rule: RbacRule): string {
  const body = `apiGroups: ["${rule.apiGroups.join('", "')}"], resources: ["${rule.resources.join('", "')}"], verbs: ["${rule.verbs.join('", "')}"]`;
  return rule.namespace
    ? `a Role in namespace ${rule.namespace} (or a ClusterRole) with {${body}}, bound to your account`
    : `a ClusterRole with {${body}}, bound to your account with a ClusterRoleBinding`;
}

export function where(a: Pick<Access, 'namespace'>): string {
  return a.namespace ? `in namespace ${a.namespace}` : 'in the cluster';
}

/** The user-facing refusal for an RBAC denial (also used by capability checks). */
export function forbidden(a: Access, serverMessage?: string): AppError {
  const rule = ruleFor(a);
  const msg = `Your account may not ${a.verb} ${resourceLabel(a)} ${where(a)}.`;
  return new AppError(
    'fleet/forbidden',
    serverMessage ? `${msg} (API server: ${serverMessage})` : msg,
    `Ask a cluster admin for ${describeRule(rule)}.`,
  );
}

const isWebhookRefusal = (m: string) => /admission webhook .* denied/i.test(m);

/** Any non-2xx answer as an AppError; `what` names the object for messages ("node kwok-0"). */
export function apiError(status: number, body: unknown, a: Access, what: string): AppError {
  const s = statusOf(body);
  const message = s.message ?? `HTTP ${status}`;
  if (isWebhookRefusal(message))
    return new AppError('fleet/refused', `The cluster refused to ${a.verb} ${what}: ${message}`);
  if (status === 401)
    return new AppError(
      'fleet/unauthorized',
      `The API server did not accept your credentials: ${message}`,
      'Log in again (refresh the token or the exec plugin’s session) and retry.',
    );
  if (status === 403) return forbidden(a, message);
  if (status === 404)
    return new AppError(
      'fleet/not-found',
      `${capital(what)} does not exist (${message}).`,
      'Refresh the view.',
    );
  if (status === 409 && s.reason === 'AlreadyExists')
    return new AppError(
      'fleet/exists',
      `${capital(what)} already exists.`,
      'Choose another name or edit it.',
    );
  if (status === 409)
    return new AppError('fleet/conflict', `${capital(what)} changed while we wrote it: ${message}`, 'Retry.');
  if (status === 400 || status === 422) {
    const causes = (s.details?.causes ?? [])
      .map((c) => [c.field, c.message].filter(Boolean).join(': '))
      .filter(Boolean);
    return new AppError(
      'fleet/invalid',
      `The API server refused ${what} as invalid: ${message}`,
      causes.length ? `Fix: ${causes.join('; ')}` : undefined,
    );
  }
  if (status === 429)
    return new AppError(
      'fleet/too-many-requests',
      `The API server asked to slow down: ${message}`,
      'Retry shortly.',
    );
  return new AppError(
    'fleet/server-error',
    `The API server failed to ${a.verb} ${what}: HTTP ${status} ${message}`,
  );
}

export function unreachable(reason: string): AppError {
  return new AppError(
    'fleet/unreachable',
    `The cluster is unreachable, so nothing was changed: ${reason}`,
    'Restore the link to the API server (VPN, uplink) and try again; EdgeFleet never queues changes.',
  );
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
