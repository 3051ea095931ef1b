// What happened to the stack's containers since the watchdog last looked: restarts, and OOM
// kills (a container at its memory limit). A running container hides both: Docker restarts it
// and the gate sees it healthy again. The host keeps what the last check saw, in the login
// user's ~/.monitoring-deploy (never in the stack's directory), so that each incident is
// reported once, by the first check after it.
import { createHash } from 'node:crypto';
import { shq } from '../connection/shell.js';
import { PROJECT_NAMES } from '../model/layout.js';

/** A container as the last check saw it, and as this one sees it. */
export interface SeenContainer {
  readonly name: string;
  readonly id: string;
  readonly restarts: number;
  /** Docker's flag: its last exit was an OOM kill (Docker 24+ clears it when it starts again). */
  readonly oomKilled: boolean;
}

export interface ContainerLook {
  /** When the previous check looked (host epoch seconds), if one did. */
  readonly lastLookSec?: number;
  readonly before: readonly SeenContainer[];
  readonly now: readonly SeenContainer[];
  /** Containers the daemon's events say were OOM-killed since the last look. */
  readonly oomEvents: readonly string[];
}

const seenFile = (root: string) =>
  `"$HOME/.monitoring-deploy/containers-${createHash('sha256').update(root).digest('hex').slice(0, 12)}"`;

const OURS = Object.values(PROJECT_NAMES);

/**
 * Prints what the last check saw (`@before`), what is there now (`@now`) and the OOM events in
 * between (`@oom`, from the daemon's own list of its latest 256 events), then keeps `@now` for
 * the next check.
 */
export function containerLookScript(docker: string, root: string): string {
  const file = seenFile(root);
  const fmt = `{{index .Config.Labels "com.docker.compose.project"}} {{.Name}} {{.Id}} {{.RestartCount}} {{.State.OOMKilled}}`;
  return `f=${file}; now=$(date +%s)
last=$(sed -n 's/^time //p' "$f" 2>/dev/null)
sed -n 's/^seen /@before /p' "$f" 2>/dev/null
[ -z "$last" ] || echo "@last $last"
ids=$(${docker} ps -aq --filter label=com.docker.compose.project)
cur=$([ -z "$ids" ] || ${docker} inspect -f ${shq(fmt)} $ids 2>/dev/null | awk '${OURS.map((p) => `$1 == "${p}"`).join(' || ')} { sub(/^\\//, "", $2); print $2, $3, $4, $5 }')
printf '%s\\n' "$cur" | sed -n 's/^./@now &/p'
[ -z "$last" ] || ${docker} events --since "$last" --until "$now" --filter event=oom --format '@oom {{.Actor.Attributes.name}}' 2>/dev/null
mkdir -p "$HOME/.monitoring-deploy" && chmod 700 "$HOME/.monitoring-deploy" &&
  { echo "time $now"; printf '%s\\n' "$cur" | sed -n 's/^./seen &/p'; } > "$f.tmp" && mv -f "$f.tmp" "$f"
true`;
}

export function parseContainerLook(out: string): ContainerLook {
  const seen = (tag: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith(`${tag} `))
      .map((l): SeenContainer => {
        const [name = '', id = '', restarts = '0', oom = 'false'] = l
          .slice(tag.length + 1)
          .trim()
          .split(/\s+/);
        return { name, id, restarts: Number(restarts) || 0, oomKilled: oom === 'true' };
      });
  const last = /^@last (\d+)$/m.exec(out)?.[1];
  return {
    lastLookSec: last ? Number(last) : undefined,
    before: seen('@before'),
    now: seen('@now'),
    oomEvents: [...out.matchAll(/^@oom (\S+)$/gm)].map((m) => m[1] as string),
  };
}

/**
 * One sentence per container that restarted or was OOM-killed since the last look. A container
 * made since then (a deploy recreates them) counts its restarts from its start; on the first
 * look there is nothing to compare with, and nothing is said.
 */
export function containerIncidents(look: ContainerLook, memLimitOf: (name: string) => string | undefined): string[] {
  if (look.lastLookSec === undefined) return [];
  const out: string[] = [];
  for (const c of look.now) {
    const before = look.before.find((b) => b.id === c.id);
    const restarts = c.restarts - (before?.restarts ?? 0);
    const oom = look.oomEvents.includes(c.name) || (restarts > 0 && c.oomKilled);
    if (restarts <= 0 && !oom) continue;
    const limit = memLimitOf(c.name);
    const what = [
      oom && `was OOM-killed (it reached its memory limit${limit ? ` of ${limit}` : ''})`,
      restarts > 0 && `restarted ${restarts === 1 ? 'once' : `${restarts} times`}`,
    ]
      .filter(Boolean)
      .join(' and ');
    const fix = oom
      ? `raise its mem_limit in the compose file, or find what grew (\`docker stats ${c.name}\`)`
      : `see why it stopped: \`docker logs ${c.name}\``;
    out.push(`Container ${c.name} ${what} since the last check. Fix: ${fix}.`);
  }
  return out;
}
