import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ALERTS_FILE, renderAlerts } from './alerts';
import { allDashboards, DASHBOARD_DIR, renderDashboard } from './dashboards';

/**
 * `npm run dashboards`: writes every dashboard's JSON into deploy/grafana/dashboards, and the
 * alert rules into deploy/grafana/provisioning/alerting.
 * `--check` writes nothing and exits 1 naming each file that differs from the generator.
 */
function main(argv: string[]): number {
  const root = projectRoot(resolve(__dirname));
  const dir = join(root, DASHBOARD_DIR);
  const check = argv.includes('--check');
  const stale: string[] = [];
  mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(join(root, ALERTS_FILE)), { recursive: true });
  const files = [
    ...allDashboards().map(({ file, dashboard }) => ({
      file,
      path: join(dir, file),
      text: renderDashboard(dashboard),
    })),
    { file: ALERTS_FILE, path: join(root, ALERTS_FILE), text: renderAlerts() },
  ];
  for (const { file, path, text } of files) {
    let current: string | null = null;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = null;
    }
    if (current === text) continue;
    stale.push(file);
    if (!check) writeFileSync(path, text);
  }
  if (check && stale.length > 0) {
    console.error(`out of date: ${stale.join(', ')} (run npm run dashboards)`);
    return 1;
  }
  console.log(
    stale.length === 0
      ? `${DASHBOARD_DIR}: up to date`
      : `${DASHBOARD_DIR}: wrote ${stale.join(', ')}`,
  );
  return 0;
}

/** The folder holding package.json above the compiled script (its depth differs in dist). */
function projectRoot(dir: string): string {
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

process.exitCode = main(process.argv.slice(2));
