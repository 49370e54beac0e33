import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { board, pipelineVariable, prometheusPanel, seriesPanel, tablePanel } from './board-parts';
import { InfluxQLBuilder } from './influxql';

const PIPELINES = '"pipeline" =~ /^$pipeline$/';

/** A per-interval series of one field of the `pipeline` measurement, one series per pipeline. */
function pipelineSeries(select: string): InfluxQLBuilder {
  return new InfluxQLBuilder(
    `SELECT ${select} FROM "pipeline" WHERE ${PIPELINES} AND $timeFilter GROUP BY time($__interval), "pipeline" fill(none)`,
  ).alias('$tag_pipeline $col');
}

/**
 * Pipeline health, from the detectors' own reports (the `pipeline` measurement, one
 * point per detector and report interval): frames/s, consumer lag, batch size,
 * inference and end-to-end latency, backend.
 *
 * @example pipelineHealth().panels?.length // 6
 */
export function pipelineHealth(): dashboard.Dashboard {
  return board(
    'aestream-pipeline-health',
    'aestream / Pipeline health',
    'Frames/s, consumer lag, batch size, inference and end-to-end latency, backend of each pipeline.',
  )
    .withVariable(pipelineVariable(true))
    .withPanel(
      seriesPanel(
        'Frames per second',
        'Records read from the input topic and inputs scored, per second (summed over the detectors of a pipeline).',
        pipelineSeries('sum("frames_per_s") AS "in", sum("scored_per_s") AS "scored"'),
        { x: 0, y: 0, w: 12, h: 8 },
        { unit: 'short', min: 0 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Consumer lag',
        "Messages behind the end of the input topic, over all partitions, as the group's committed offsets say.",
        pipelineSeries('max("lag") AS "lag"'),
        { x: 12, y: 0, w: 12, h: 8 },
        { unit: 'short', min: 0 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Batch size',
        'Mean inputs per inference batch.',
        pipelineSeries('mean("batch_size") AS "batch size"'),
        { x: 0, y: 8, w: 8, h: 8 },
        { unit: 'short', min: 0 },
      ),
    )
    .withPanel(
      seriesPanel(
        'Inference latency',
        'Mean time of one batched inference.',
        pipelineSeries('mean("inference_ms") AS "inference"'),
        { x: 8, y: 8, w: 8, h: 8 },
        { unit: 'ms', min: 0 },
      ),
    )
    .withPanel(
      seriesPanel(
        'End-to-end latency',
        "Mean time from a frame's event time to its score being written (includes any backlog).",
        pipelineSeries('mean("e2e_ms") AS "end to end"'),
        { x: 16, y: 8, w: 8, h: 8 },
        { unit: 'ms', min: 0 },
      ),
    )
    .withPanel(
      prometheusPanel(
        'Frames and anomalies per second (Prometheus)',
        "From the detectors' /metrics, scraped by Prometheus: records read, inputs scored and anomaly events per second, per pipeline (live only: Prometheus keeps no history of replays).",
        [
          {
            expr: 'sum by (pipeline) (rate(aestream_frames_in_total{pipeline=~"$pipeline"}[$__rate_interval]))',
            legend: '{{pipeline}} in',
          },
          {
            expr: 'sum by (pipeline) (rate(aestream_frames_scored_total{pipeline=~"$pipeline"}[$__rate_interval]))',
            legend: '{{pipeline}} scored',
          },
          {
            expr: 'sum by (pipeline) (rate(aestream_anomalies_total{pipeline=~"$pipeline"}[$__rate_interval]))',
            legend: '{{pipeline}} anomalies',
          },
        ],
        { x: 0, y: 22, w: 24, h: 8 },
        { unit: 'short', min: 0 },
      ),
    )
    .withPanel(
      tablePanel(
        'Backend',
        'The tfjs backend, inference engine and model version of the latest report of each pipeline.',
        new InfluxQLBuilder(
          `SELECT last("backend") AS "backend", "engine", "model" FROM "pipeline" WHERE ${PIPELINES} AND $timeFilter GROUP BY "pipeline"`,
        ),
        { x: 0, y: 16, w: 24, h: 6 },
      ),
    )
    .build();
}
