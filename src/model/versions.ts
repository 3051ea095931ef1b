// The images of the bundled stack (compose/) and the version each is pinned to, in one place.
// The compose files pin exactly these (a unit test compares every `image:` with this table), and
// the README's version table is made from it (`npm run docs`). Each version was checked against
// its project's release tags (prometheus/prometheus v3.13.2, prometheus/node_exporter v1.12.1,
// grafana/loki v3.6.15 and v3.6.11, grafana/alloy v1.18.1, nginx/nginx release-1.30.4).

export interface PinnedImage {
  /** The image repository, as the compose files name it. */
  readonly image: string;
  readonly tag: string;
  /** The services of compose/*.yml that run it. */
  readonly services: readonly string[];
  /** Why this version, in one line. */
  readonly why: string;
}

/** Promtail's end of life (Loki docs, send-data/promtail/_index.md at v3.6.15). */
export const PROMTAIL_END_OF_LIFE = '2026-03-02';

export const PINNED_IMAGES: readonly PinnedImage[] = [
  {
    image: 'prom/prometheus',
    tag: 'v3.13.2',
    services: ['prometheus'],
    why: 'newest 3.13 patch; its retention flags still work (deprecated since 3.8, see the compose file)',
  },
  {
    image: 'prom/node-exporter',
    tag: 'v1.12.1',
    services: ['node-exporter'],
    why: 'newest release; the flags we pass are unchanged',
  },
  {
    image: 'grafana/loki',
    tag: '3.6.15',
    services: ['loki'],
    why: "newest patch of 3.6, Promtail's last minor (the linter wants both on one minor)",
  },
  {
    image: 'grafana/promtail',
    tag: '3.6.11',
    services: ['promtail'],
    why: `the last release with a Promtail image; end of life since ${PROMTAIL_END_OF_LIFE}`,
  },
  {
    image: 'grafana/alloy',
    tag: 'v1.18.1',
    services: ['alloy'],
    why: 'newest release; every block and argument of config.alloy is valid in it',
  },
  {
    image: 'grafana/grafana',
    tag: '13.2.0',
    services: ['grafana'],
    why: 'newest release; file provisioning of data sources, dashboards and alerting unchanged from 12',
  },
  {
    image: 'nginx',
    tag: '1.30.4-alpine',
    services: ['nginx', 'receiver'],
    why: 'newest patch of the stable line (1.30) confirmed; alpine for size',
  },
];

/** The pinned image a service of the bundled stack runs, as `image:tag`. */
export function pinnedImageOf(service: string): string | undefined {
  const p = PINNED_IMAGES.find((x) => x.services.includes(service));
  return p && `${p.image}:${p.tag}`;
}

/** The README's version table. */
export function versionsMarkdown(): string {
  return [
    '| service | image | why this version |',
    '| --- | --- | --- |',
    ...PINNED_IMAGES.map((p) => `| ${p.services.join(', ')} | \`${p.image}:${p.tag}\` | ${p.why} |`),
  ].join('\n');
}
