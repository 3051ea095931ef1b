// Writes action.yml from the interface declared in src/settings/inputs.ts (a unit test keeps
// them equal): node scripts/action-yml.mjs > action.yml
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The module, and the modules of src/ it imports, transpiled into a scratch directory. */
function transpiled(file, src, out, done = new Set()) {
  if (done.has(file)) return;
  done.add(file);
  const source = readFileSync(file, 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext } }).outputText;
  const target = join(out, relative(src, file)).replace(/\.ts$/, '.mjs');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, js.replace(/from '(\.{1,2}\/[^']+)\.js'/g, "from '$1.mjs'"));
  for (const m of source.matchAll(/^import (?!type )[^;]*? from '(\.{1,2}\/[^']+)\.js';/gms))
    transpiled(resolve(dirname(file), `${m[1]}.ts`), src, out, done);
}

const src = fileURLToPath(new URL('../src', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'action-yml-'));
transpiled(join(src, 'settings/inputs.ts'), src, scratch);
const { INPUTS, OUTPUTS } = await import(pathToFileURL(join(scratch, 'settings/inputs.mjs')).href).finally(() =>
  rmSync(scratch, { recursive: true, force: true }),
);

const q = (s) => JSON.stringify(s);
const env = (name) => `INPUT_${name.replace(/-/g, '_').toUpperCase()}`;
const out = [
  'name: "Monitoring Deploy"',
  'description: "Deploy Prometheus, Loki, Promtail, Grafana and node-exporter next to your app on a small server over SSH, and stay red until every target is up."',
  'author: "monitoring-deploy"',
  'branding:',
  '  icon: "activity"',
  '  color: "orange"',
  '',
  'inputs:',
];
for (const i of INPUTS) {
  out.push(`  ${i.name}:`, `    description: ${q(i.description)}`, `    required: ${i.required === true}`);
  if (i.default !== undefined) out.push(`    default: ${q(i.default)}`);
}
out.push('', 'outputs:');
for (const o of OUTPUTS) {
  out.push(`  ${o.name}:`, `    description: ${q(o.description)}`, `    value: \${{ steps.deploy.outputs.${o.name} }}`);
}
out.push(
  '',
  'runs:',
  '  using: composite',
  '  steps:',
  '    # The watchdog remembers an outage between runs on the runner side (the host may be down):',
  '    # one small cache entry per host, restored here and saved only when the state changed.',
  '    - id: state',
  "      if: inputs.discord-webhook-url != '' && (inputs.notify-on == 'failure' || (inputs.notify-on == '' && inputs.command == 'check'))",
  '      shell: bash',
  '      run: echo "key=monitoring-deploy-state-$(printf \'%s:%s\' "$HOST" "$PORT" | sha256sum | cut -c1-16)" >> "$GITHUB_OUTPUT"',
  '      env:',
  '        HOST: ${{ inputs.host }}',
  '        PORT: ${{ inputs.port }}',
  '    - if: steps.state.outputs.key',
  '      uses: actions/cache/restore@v4',
  '      with:',
  '        path: ${{ runner.temp }}/monitoring-deploy-state',
  '        key: ${{ steps.state.outputs.key }}-${{ github.run_id }}-${{ github.run_attempt }}',
  '        restore-keys: ${{ steps.state.outputs.key }}-',
  '    - id: deploy',
  '      shell: bash',
  '      # Inputs reach the script only as environment variables: never ${{ }} inside run (script injection).',
  '      run: node "$GITHUB_ACTION_PATH/dist/index.js"',
  '      env:',
  '        MONITORING_DEPLOY_STATE_DIR: ${{ runner.temp }}/monitoring-deploy-state',
  ...INPUTS.map((i) => `        ${env(i.name)}: \${{ inputs.${i.name} }}`),
  "    - if: always() && steps.deploy.outputs.state-changed == 'true'",
  '      uses: actions/cache/save@v4',
  '      with:',
  '        path: ${{ runner.temp }}/monitoring-deploy-state',
  '        key: ${{ steps.state.outputs.key }}-${{ github.run_id }}-${{ github.run_attempt }}',
);
process.stdout.write(`${out.join('\n')}\n`);
