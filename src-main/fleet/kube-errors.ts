/**
 * The API server's answer to a failed logs/exec request, as a message the user can act on. The
 * API server says why in a metav1.Status body; kubelet errors it relays (a cut link, a NAT-only
 * node without its tunnel agent) arrive as 5xx with the dial error in that message.
 */
import { AppError } from '../ipc/errors.ts';

export interface StreamTarget {
  /** RBAC wording: `get pods/log`, `create pods/exec`. */
  verb: 'get' | 'create';
  subresource: 'log' | 'exec';
  namespace: string;
  pod: string;
  container?: string;
}

/** The target of a logs/exec request, as the error messages name it. */
export function targetOf(
  verb: StreamTarget['verb'],
  subresource: StreamTarget['subresource'],
  r: { namespace: string; pod: string; container?: string | undefined },
): StreamTarget {
  return {
    verb,
    subresource,
    namespace: r.namespace,
    pod: r.pod,
    ...(r.container ? { container: r.container } : {}),
  };
}

interface KubeStatus {
  message?: string;
  reason?: string;
  code?: number;
}

function parseStatus(body: string): KubeStatus {
  try {
    const s = JSON.parse(body) as unknown;
    if (s && typeof s === 'object') return s as KubeStatus;
  } catch {
    // Not a Status (a proxy's HTML page, plain text): the body itself is the message.
  }
  return { message: body.trim().slice(0, 500) };
}

/** What kube-apiserver says when it could not reach kubelet (direct dial or through the tunnel egress). */
const NODE_UNREACHABLE =
  /error dialing backend|no tunnel agent is connected|dial tcp|i\/o timeout|no route to host|connection refused|connection reset|proxy error|EOF$/i;

export function streamError(t: StreamTarget, status: number, body: string): AppError {
  const s = parseStatus(body);
  const message = s.message || `HTTP ${status}`;
  const where = `${t.namespace}/${t.pod}`;
  if (status === 401)
    return new AppError(
      'kube/unauthorized',
      `The API server did not accept your credentials: ${message}`,
      'Log in again or refresh the credentials in this kubeconfig.',
    );
  if (status === 403)
    return new AppError(
      'kube/forbidden',
      `Your account may not ${t.verb} pods/${t.subresource} in ${t.namespace}: ${message}`,
      `Ask a cluster admin for a Role in ${t.namespace} with the rule {apiGroups: [""], resources: ["pods/${t.subresource}"], verbs: ["${t.verb}"]} bound to your user or group.`,
    );
  if (status === 404)
    return new AppError(
      'kube/pod-not-found',
      `Pod ${where} does not exist: ${message}`,
      'It may have been replaced (a Deployment makes new pods with new names); pick it again from the pod list.',
    );
  if (/previous terminated container .* not found/i.test(message))
    return new AppError(
      'kube/no-previous',
      `No previous run of ${t.container ? `container ${t.container}` : 'the container'} in ${where}: ${message}`,
      'Previous logs exist only after the container restarted; show the current logs instead.',
    );
  if (/container .*(is not valid|not found)|choose one of/i.test(message))
    return new AppError(
      'kube/container-not-found',
      `Pod ${where} has no container ${t.container ?? '(none given)'}: ${message}`,
      'Pick one of the containers the message lists.',
    );
  if (/waiting to start|ContainerCreating|PodInitializing|is terminated|not running/i.test(message))
    return new AppError(
      'kube/container-not-running',
      `The container in ${where} is not running: ${message}`,
      'Wait until it runs (the pod events say why it does not), or show its previous logs.',
    );
  if (status >= 500 && NODE_UNREACHABLE.test(message)) return nodeUnreachable(where, message);
  return new AppError(
    'kube/stream-failed',
    `${t.verb} pods/${t.subresource} of ${where} failed (${status}): ${message}`,
  );
}

export function nodeUnreachable(where: string, message: string): AppError {
  return new AppError(
    'kube/node-unreachable',
    `The API server cannot reach the kubelet of the node running ${where}: ${message}`,
    "The node's link to the cloud is down, or, for a NAT-only node, its EdgeFleet tunnel agent is not connected. Logs and exec work again once the link (or the agent) is back; the node keeps running its pods meanwhile.",
  );
}
