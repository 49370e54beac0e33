import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  board,
  clockNote,
  NOT_REPLAYED,
  pipelineVariable,
  seriesPanel,
  sourceVariable,
  tablePanel,
} from './board-parts';
import { InfluxAnnotationBuilder, InfluxQLBuilder } from './influxql';

const SOURCE = `"pipeline" = '$pipeline' AND "source" = '$source' AND ${NOT_REPLAYED}`;

/**
 * Source detail, for one pipeline and source: the reconstruction error against the
 * threshold, the anomaly probability, anomaly and model-swap annotations, and the top
 * contributing features of the latest anomaly events.
 *
 * @example sourceDetail().templating.list.map((v) => v.name) // ['pipeline', 'source']
 */
export function sourceDetail(): dashboard.Dashboard {
  return board(
    'aestream-source',
    'aestream / Source detail',
    'One source of one pipeline: reconstruction error vs threshold, anomalies, model swaps, top contributing features.',
  )
    .withVariable(pipelineVariable(false))
    .withVariable(sourceVariable())
    .annotation(
      new InfluxAnnotationBuilder(
        'Anomalies (event time)',
        `SELECT "score", "threshold", "model" FROM "anomaly" WHERE ${SOURCE} AND $timeFilter`,
        { text: 'score', tags: 'model' },
        'red',
      ),
    )
    .annotation(
      new InfluxAnnotationBuilder(
        'Model swaps (wall clock)',
        `SELECT "event", "previous", "model" FROM "model" WHERE "pipeline" = '$pipeline' AND $timeFilter`,
        { text: 'event', tags: 'model,previous' },
        'blue',
      ),
    )
    .withPanel(clockNote())
    .withPanel(
      seriesPanel(
        'Reconstruction error vs threshold',
        "The largest reconstruction error per interval against the source's threshold (null while it calibrates).",
        new InfluxQLBuilder(
          `SELECT max("error") AS "error", mean("threshold") AS "threshold" FROM "score" WHERE ${SOURCE} AND $timeFilter GROUP BY time($__interval) fill(none)`,
        ),
        { x: 0, y: 3, w: 24, h: 10 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Anomaly probability',
        "The threshold's anomaly probability of each input (largest per interval).",
        new InfluxQLBuilder(
          `SELECT max("p") AS "p" FROM "score" WHERE ${SOURCE} AND $timeFilter GROUP BY time($__interval) fill(none)`,
        ),
        { x: 0, y: 13, w: 24, h: 6 },
        { unit: 'percentunit', min: 0 },
      ),
    )
    .withPanel(
      tablePanel(
        'Top contributing features of recent anomaly events',
        'The latest 50 anomaly events: score, threshold, probability, model and the largest contributions as index:error pairs (feature index for sensors, region index for images).',
        new InfluxQLBuilder(
          `SELECT "score", "threshold", "p", "top", "model" FROM "anomaly" WHERE ${SOURCE} AND $timeFilter ORDER BY time DESC LIMIT 50`,
        ),
        { x: 0, y: 19, w: 24, h: 10 },
      ),
    )
    .build();
}
