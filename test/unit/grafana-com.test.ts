import { describe, expect, it } from 'vitest';
import { bindDashboard } from '../../src/stack/grafana-com';

describe('bindDashboard', () => {
  const raw = JSON.stringify({
    __inputs: [
      { name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' },
      { name: 'DS_LOKI', type: 'datasource', pluginId: 'loki' },
      { name: 'VAR_NS', type: 'constant', value: 'dev' },
    ],
    __requires: [],
    id: 7,
    panels: [
      { datasource: '${DS_PROMETHEUS}', expr: 'x{ns="${VAR_NS}"}' },
      { datasource: { uid: '${DS_LOKI}' } },
      { datasource: { uid: '${ds_prometheus}' } },
    ],
  });

  it('binds datasource inputs to our uids and constants to their values', () => {
    const d = JSON.parse(bindDashboard(raw, 1860));
    expect(d.panels[0]).toEqual({ datasource: 'prometheus', expr: 'x{ns="dev"}' });
    expect(d.panels[1].datasource.uid).toBe('loki');
    // A dashboard's own template variable is left for Grafana.
    expect(d.panels[2].datasource.uid).toBe('${ds_prometheus}');
    expect(d.id).toBeNull();
    expect(d.__inputs).toBeUndefined();
  });

  it('refuses a dashboard that needs a datasource we do not provision', () => {
    const influx = JSON.stringify({ __inputs: [{ name: 'DS_INFLUX', type: 'datasource', pluginId: 'influxdb' }] });
    expect(() => bindDashboard(influx, 99)).toThrow('dashboard 99 needs a influxdb datasource');
  });
});
