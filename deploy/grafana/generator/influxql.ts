import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

/**
 * The datasources the dashboards use, by the uids deploy/grafana/provisioning gives them.
 * A dashboard that names a uid the provisioning does not create shows "datasource not found".
 */
export const INFLUX_DATASOURCE: dashboard.DataSourceRef = {
  type: 'influxdb',
  uid: 'aestream-influxdb',
};
export const PROMETHEUS_DATASOURCE: dashboard.DataSourceRef = {
  type: 'prometheus',
  uid: 'aestream-prometheus',
};

/** What Grafana's InfluxDB datasource stores for one raw InfluxQL query of a panel. */
export interface InfluxQLQuery extends cog.Dataquery {
  refId: string;
  datasource: dashboard.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

/**
 * A raw InfluxQL panel target. The foundation SDK has no InfluxDB query builder; this is
 * the smallest one that fits its `withTarget`.
 *
 * @example new PanelBuilder().withTarget(new InfluxQLBuilder('SELECT mean("error") FROM "score" WHERE $timeFilter'))
 */
export class InfluxQLBuilder implements cog.Builder<cog.Dataquery> {
  private readonly target: InfluxQLQuery;

  constructor(query: string) {
    this.target = {
      refId: 'A',
      datasource: INFLUX_DATASOURCE,
      query,
      rawQuery: true,
      resultFormat: 'time_series',
      _implementsDataqueryVariant() {},
    };
  }

  refId(refId: string): this {
    this.target.refId = refId;
    return this;
  }

  /** Table results (one row per point or group) instead of one series per group. */
  table(): this {
    this.target.resultFormat = 'table';
    return this;
  }

  /** Series name, e.g. `$tag_source` or `$col`. */
  alias(alias: string): this {
    this.target.alias = alias;
    return this;
  }

  build(): cog.Dataquery {
    return { ...this.target };
  }
}

/**
 * An annotation from an InfluxQL query: each row is a mark at its time, with the text of
 * `textColumn` and the tags of `tagsColumn` (comma-separated columns). The SDK's
 * AnnotationQuery knows only Grafana's built-in annotation target, so the InfluxDB fields
 * are added here: in `target`, as Grafana's InfluxDB plugin stores them (its
 * prepareAnnotation keeps a target that has a query), and at the top level, where older
 * dashboards had them.
 */
export class InfluxAnnotationBuilder implements cog.Builder<dashboard.AnnotationQuery> {
  constructor(
    private readonly name: string,
    private readonly query: string,
    private readonly columns: { text: string; tags: string },
    private readonly iconColor: string,
  ) {}

  build(): dashboard.AnnotationQuery {
    const columns = { textColumn: this.columns.text, tagsColumn: this.columns.tags };
    return {
      name: this.name,
      datasource: INFLUX_DATASOURCE,
      enable: true,
      iconColor: this.iconColor,
      query: this.query,
      ...columns,
      // The shape Grafana's InfluxDB plugin migrates a legacy annotation into.
      target: {
        refId: 'Anno',
        query: this.query,
        rawQuery: true,
        queryType: 'tags',
        fromAnnotations: true,
        ...columns,
        timeEndColumn: '',
        titleColumn: '',
        name: this.name,
      },
    } as unknown as dashboard.AnnotationQuery;
  }
}

/** The InfluxQL of every target, annotation and query variable of a built dashboard. */
export interface DashboardQuery {
  /** Panel title, `annotation: <name>` or `variable: <name>`. */
  where: string;
  query: string;
  resultFormat: 'time_series' | 'table';
}

/**
 * Lists the InfluxQL queries of a built dashboard (what the query test runs).
 *
 * @example queriesOf(overview()).map((q) => q.where)
 */
export function queriesOf(board: dashboard.Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const panel of board.panels ?? []) {
    const p = panel as dashboard.Panel;
    for (const t of (p.targets ?? []) as unknown as Partial<InfluxQLQuery>[]) {
      if (t.datasource?.uid !== INFLUX_DATASOURCE.uid || typeof t.query !== 'string') continue;
      out.push({ where: p.title ?? '', query: t.query, resultFormat: t.resultFormat ?? 'table' });
    }
  }
  for (const a of (board.annotations?.list ?? []) as unknown as Array<{
    name: string;
    datasource?: dashboard.DataSourceRef;
    target?: { query?: string };
  }>) {
    if (a.datasource?.uid !== INFLUX_DATASOURCE.uid || !a.target?.query) continue;
    out.push({ where: `annotation: ${a.name}`, query: a.target.query, resultFormat: 'table' });
  }
  for (const v of (board.templating?.list ?? []) as Array<{
    name: string;
    type: string;
    datasource?: dashboard.DataSourceRef;
    query?: unknown;
  }>) {
    if (v.type !== 'query' || v.datasource?.uid !== INFLUX_DATASOURCE.uid) continue;
    if (typeof v.query !== 'string') continue;
    out.push({ where: `variable: ${v.name}`, query: v.query, resultFormat: 'table' });
  }
  return out;
}
