import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { INFLUX_DATASOURCE, InfluxQLBuilder, PROMETHEUS_DATASOURCE } from './influxql';

/**
 * The pieces the three dashboards share: variables over the `score` measurement's tags, the
 * usual panel kinds on the InfluxDB datasource, links between the dashboards.
 */

/**
 * Matches the detectors' own score and anomaly points only: `aestream replay` writes its
 * re-scored points to the same measurements with a `run` tag (src/app/replay.ts), and
 * InfluxQL's `tag = ''` matches points without that tag.
 */
export const NOT_REPLAYED = `"run" = ''`;

/** Tags every aestream dashboard carries (the dashboard links find each other by it). */
export const BOARD_TAG = 'aestream';

/**
 * The `pipeline` variable: every pipeline that wrote scores in the time range. `multi`
 * boards match it as a regex (`"pipeline" =~ /^$pipeline$/`), single ones as a string.
 */
export function pipelineVariable(multi: boolean): dashboard.QueryVariableBuilder {
  const v = new dashboard.QueryVariableBuilder('pipeline')
    .label('Pipeline')
    .datasource(INFLUX_DATASOURCE)
    .query('SHOW TAG VALUES FROM "score" WITH KEY = "pipeline"')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  return multi ? v.multi(true).includeAll(true).allValue('.*') : v.multi(false);
}

/** The `source` variable: the sources of the chosen pipeline. */
export function sourceVariable(): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('source')
    .label('Source')
    .datasource(INFLUX_DATASOURCE)
    .query('SHOW TAG VALUES FROM "score" WITH KEY = "source" WHERE "pipeline" = \'$pipeline\'')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(false);
}

/** Links to the other aestream dashboards, keeping the time range and variables. */
export function boardLinks(): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder('aestream')
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags([BOARD_TAG])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .icon('external link')
    .tooltip('')
    .targetBlank(false);
}

interface Place {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A time series panel with one InfluxQL query. */
export function seriesPanel(
  title: string,
  description: string,
  query: InfluxQLBuilder,
  place: Place,
  options: { unit?: string; bars?: boolean; min?: number } = {},
): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(query)
    .gridPos(place)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .spanNulls(true);
  if (options.unit) panel.unit(options.unit);
  if (options.min !== undefined) panel.min(options.min);
  if (options.bars) panel.drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80);
  return panel;
}

/** A table panel with one InfluxQL query in table format. */
export function tablePanel(
  title: string,
  description: string,
  query: InfluxQLBuilder,
  place: Place,
): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(query.table())
    .gridPos(place);
}

/** A single-number panel. */
export function statPanel(
  title: string,
  description: string,
  query: InfluxQLBuilder,
  place: Place,
): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(query)
    .gridPos(place)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['sum']).values(false));
}

/** A dashboard with aestream's common settings. */
export function board(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([BOARD_TAG])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(boardLinks());
}

/** A time series panel of PromQL queries on the Prometheus datasource (the detectors' /metrics). */
export function prometheusPanel(
  title: string,
  description: string,
  queries: Array<{ expr: string; legend: string }>,
  place: Place,
  options: { unit?: string; min?: number } = {},
): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS_DATASOURCE)
    .gridPos(place)
    .spanNulls(true);
  queries.forEach((q, i) =>
    panel.withTarget(
      new prometheus.DataqueryBuilder()
        .refId(String.fromCharCode(65 + i))
        .datasource(PROMETHEUS_DATASOURCE)
        .expr(q.expr)
        .legendFormat(q.legend),
    ),
  );
  if (options.unit) panel.unit(options.unit);
  if (options.min !== undefined) panel.min(options.min);
  return panel;
}

/** Height of the note on the clocks at the top of the boards that show event-time points. */
export const CLOCK_NOTE_HEIGHT = 3;

/**
 * Score and anomaly points carry the frame's event time, the detectors' reports the wall
 * clock: a board whose range ends now shows nothing for historical or replayed data. This
 * note at the top says so and what to do; the board's other panels sit below it.
 */
export function clockNote(): text.PanelBuilder {
  return new text.PanelBuilder()
    .title('Which clock')
    .mode(text.TextMode.Markdown)
    .content(
      'Scores and anomalies (and their annotations) are at the **event time** of their frames; ' +
        "the detectors' reports (throughput, lag, model swaps, dead letters) at the **wall clock**. " +
        'Live data shows in the default range; for historical or replayed data, pick the range of the data ' +
        '(time picker, e.g. `now-1y`) or zoom out.',
    )
    .gridPos({ x: 0, y: 0, w: 24, h: CLOCK_NOTE_HEIGHT });
}
