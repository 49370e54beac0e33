import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  board,
  clockNote,
  NOT_REPLAYED,
  pipelineVariable,
  seriesPanel,
  statPanel,
  tablePanel,
} from './board-parts';
import { InfluxQLBuilder } from './influxql';

const PIPELINES = '"pipeline" =~ /^$pipeline$/';
/** Score and anomaly points of the chosen pipelines' detectors (not of replays). */
const SCORES = `${PIPELINES} AND ${NOT_REPLAYED}`;

/**
 * Overview: anomalies per pipeline and source over time, the sources with the most
 * anomalies, dead letters by reason code, and the model each pipeline runs now.
 *
 * @example writeFileSync('overview.json', JSON.stringify(overview(), null, 2))
 */
export function overview(): dashboard.Dashboard {
  return board(
    'aestream-overview',
    'aestream / Overview',
    'Anomalies per pipeline and source, top sources, dead letters by reason, current models.',
  )
    .withVariable(pipelineVariable(true))
    .withPanel(clockNote())
    .withPanel(
      statPanel(
        'Anomaly events',
        'Anomaly events in the time range (points of the `anomaly` measurement).',
        new InfluxQLBuilder(
          `SELECT count("score") AS "events" FROM "anomaly" WHERE ${SCORES} AND $timeFilter`,
        ),
        { x: 0, y: 3, w: 6, h: 8 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Anomalies per pipeline and source',
        'Inputs judged anomalous per interval (sum of `score.anomaly`), one series per pipeline and source.',
        new InfluxQLBuilder(
          `SELECT sum("anomaly") AS "anomalies" FROM "score" WHERE ${SCORES} AND $timeFilter GROUP BY time($__interval), "pipeline", "source" fill(none)`,
        ).alias('$tag_pipeline / $tag_source'),
        { x: 6, y: 3, w: 18, h: 8 },
        { bars: true, min: 0 },
      ),
    )
    .withPanel(
      tablePanel(
        'Top sources by anomalies',
        'The ten sources with the most anomalous inputs in the time range.',
        new InfluxQLBuilder(
          `SELECT top("anomalies", "source", 10) AS "anomalies", "pipeline" FROM (SELECT sum("anomaly") AS "anomalies" FROM "score" WHERE ${SCORES} AND $timeFilter GROUP BY "pipeline", "source")`,
        ),
        { x: 0, y: 11, w: 8, h: 9 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Dead letters by reason',
        'Frames sent to the dead-letter topic per interval, by reason code (the `dlq` measurement).',
        new InfluxQLBuilder(
          `SELECT sum("records") AS "records" FROM "dlq" WHERE ${PIPELINES} AND $timeFilter GROUP BY time($__interval), "reason" fill(none)`,
        ).alias('$tag_reason'),
        { x: 8, y: 11, w: 16, h: 9 },
        { bars: true, min: 0 },
      ),
    )
    .withPanel(
      tablePanel(
        'Current model per pipeline',
        "The model version, inference engine and backend of each pipeline's latest report.",
        new InfluxQLBuilder(
          `SELECT last("frames_per_s") AS "frames_per_s", "model", "engine", "backend" FROM "pipeline" WHERE ${PIPELINES} AND $timeFilter GROUP BY "pipeline"`,
        ),
        { x: 0, y: 20, w: 24, h: 7 },
      ),
    )
    .build();
}
