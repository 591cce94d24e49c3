/**
 * The record of every path a conversion touches, kept on the node itself
 * (/var/lib/edgefleet/backup/manifest) so any laptop can revert it: `A <step> <path>` for a path
 * that did not exist (revert removes it), `M <step> <path>` for one that did (a copy with mode,
 * owner and times goes to backup/files<path>, and revert puts it back byte for byte). The first
 * record of a path wins: it describes the state before EdgeFleet.
 */
import { shq } from './remote.ts';
import type { RemoteShell } from './types.ts';

export const STATE_ROOT = '/var/lib/edgefleet';
export const BACKUP_DIR = `${STATE_ROOT}/backup`;
export const MANIFEST = `${BACKUP_DIR}/manifest`;

/** Shell functions prepended to install scripts. `ef_touch <step> <path>` before changing a path. */
export const TOUCH_FUNCTIONS = `
B=${BACKUP_DIR}
M=${MANIFEST}
ef_init() {
  if [ ! -e ${STATE_ROOT} ]; then
    mkdir -p -m 0700 $B
    chmod 0700 ${STATE_ROOT}
    echo "A $1 ${STATE_ROOT}" > $M
  elif [ ! -f $M ]; then
    echo "${STATE_ROOT} exists but has no EdgeFleet manifest; not touching it" >&2
    exit 20
  fi
}
ef_touch() {
  step=$1; p=$2
  cut -d' ' -f1,3- $M | grep -q -F -x -e "A $p" -e "M $p" && return 0
  parent=$(dirname "$p")
  if [ ! -e "$parent" ]; then ef_touch "$step" "$parent"; fi
  if [ -e "$p" ] || [ -L "$p" ]; then
    mkdir -p "$B/files$parent"
    cp -a "$p" "$B/files$p"
    echo "M $step $p" >> $M
  else
    echo "A $step $p" >> $M
  fi
}
`;

/**
 * Restores the recorded paths in reverse order: all of them (revert) or only one step's (rollback).
 * Prints each restored path. The manifest itself goes with ${STATE_ROOT} when that is restored.
 */
export function restoreScript(step?: string): string {
  const filter = step ? `awk -v s=${shq(step)} '$2 == s'` : 'cat';
  return `
B=${BACKUP_DIR}
M=${MANIFEST}
[ -f $M ] || { echo "no EdgeFleet manifest on this host: nothing to restore"; exit 0; }
list=$(mktemp)
${filter} $M | tac > "$list"
while read -r kind st p; do
  [ -n "$p" ] || continue
  case "$kind" in
    A) rm -rf -- "$p"; echo "removed $p" ;;
    M)
      if [ -e "$B/files$p" ] || [ -L "$B/files$p" ]; then
        rm -rf -- "$p"
        cp -a "$B/files$p" "$p"
        echo "restored $p"
      else
        echo "backup of $p missing" >&2; exit 21
      fi ;;
  esac
  if [ -f $M ]; then grep -v -F -x "$kind $st $p" $M > $M.tmp || true; mv $M.tmp $M; fi
done < "$list"
rm -f "$list"
`;
}

export async function restorePaths(remote: RemoteShell, step?: string): Promise<string[]> {
  const r = await remote.sh(restoreScript(step));
  if (r.code !== 0) throw new Error(`restoring ${step ?? 'all'} touched paths failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}
