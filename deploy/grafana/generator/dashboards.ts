import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { overview } from './overview';
import { pipelineHealth } from './pipeline-health';
import { sourceDetail } from './source-detail';

/** Where `npm run dashboards` writes, relative to the repository root; Grafana's provider reads it. */
export const DASHBOARD_DIR = 'deploy/grafana/dashboards';

/** Panel ids in layout order: stable ids keep panel links (`viewPanel=`) working across regenerations. */
function numbered(board: dashboard.Dashboard): dashboard.Dashboard {
  (board.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return board;
}

/** Every generated dashboard with its file name. */
export function allDashboards(): Array<{ file: string; dashboard: dashboard.Dashboard }> {
  return [
    { file: 'overview.json', dashboard: numbered(overview()) },
    { file: 'source-detail.json', dashboard: numbered(sourceDetail()) },
    { file: 'pipeline-health.json', dashboard: numbered(pipelineHealth()) },
  ];
}

/**
 * The file text of a dashboard: 2-space JSON and a final newline, so the committed files
 * are what prettier would leave and a regenerated file is byte-identical.
 *
 * @example renderDashboard(overview()).endsWith('}\n') // true
 */
export function renderDashboard(board: dashboard.Dashboard): string {
  return `${JSON.stringify(board, null, 2)}\n`;
}
