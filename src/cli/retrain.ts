import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import { metricsPort } from './options';
import type { TrainingReport } from '../app/retrain';

interface RetrainOpts {
  pipeline: string;
  metricsPort: string;
}

/** One line per training run: why, on what, and what came of it. */
export function describeTraining(r: TrainingReport): string {
  const head = `retrain [${r.trigger}] ${r.why}: ${r.samples.train} training / ${r.samples.heldBack} held-back / ${r.samples.recent} recent frames, base ${r.base}`;
  const loss =
    r.loss !== undefined ? `, val loss ${r.loss.toPrecision(4)} in ${r.epochs} epochs` : '';
  const check = r.check
    ? `, held-back error ${r.check.heldBack.candidate.toPrecision(4)} vs ${r.check.heldBack.current.toPrecision(4)}, recent flag rate ${(r.check.recent.candidateRate * 100).toFixed(1)}% vs ${(r.check.recent.currentRate * 100).toFixed(1)}%`
    : '';
  const outcome =
    r.outcome === 'published' ? `published ${r.version}` : `${r.outcome}: ${r.reasons.join('; ')}`;
  return `${head}${loss}${check} → ${outcome} (${r.seconds.toFixed(1)} s)`;
}

/**
 * `aestream retrain -p pipeline.yaml`: the retraining pipeline, until SIGTERM/SIGINT.
 * One line per training run on stderr; JSON logs as usual.
 */
export function retrainCommand(): Command {
  return new Command('retrain')
    .description(
      "keep the pipeline's model current: train on frames judged normal, publish releases that pass validation",
    )
    .requiredOption('-p, --pipeline <file>', 'pipeline YAML file')
    .option(
      '--metrics-port <port>',
      'port of /metrics, /healthz and /readyz ("off" to disable)',
      'off',
    )
    .addHelpText(
      'after',
      '\nReads input.kafka.topic with its own group (retrain.group, default input.kafka.group + ".retrain"),\n' +
        'scores every frame with the current release and keeps the frames judged normal in a bounded\n' +
        'recency-weighted reservoir (retrain.reservoir, retrain.halfLife). Trains when a trigger fires:\n' +
        '  retrain.trigger.everyFrames   normal frames since the last training\n' +
        '  retrain.trigger.everyMinutes  wall-clock schedule\n' +
        '  retrain.trigger.drift         two-sample KS test of recent vs reference scores rejects at\n' +
        '                                retrain.drift.alpha on retrain.drift.sustain consecutive checks\n' +
        'A candidate (warm-started from the current weights) is published to model.releases.topic and\n' +
        'model.store only when it passes retrain.accept; otherwise it is logged with its reasons.\n' +
        '\nNeeds a model: aestream train -p <pipeline.yaml> --data <file>\n' +
        '\nExample:\n  KAFKA_BROKERS=127.0.0.1:9092 aestream retrain -p pipelines/sensors.yaml',
    )
    .action(async (opts: RetrainOpts) => {
      const config = loadPipeline(opts.pipeline);
      // Loaded here: tfjs and kafkajs take a while to import and other commands do not need them.
      const { startRetrainer } = await import('../app/retrain');
      const retrainer = await startRetrainer(config, {
        metricsPort: metricsPort(opts.metricsPort),
        onTraining: (r) => console.error(describeTraining(r)),
      });
      console.error(
        `retraining ${config.name} from ${config.input.kafka.topic} with model ${retrainer.model.version}` +
          (retrainer.metricsPort !== null ? ` (metrics on :${retrainer.metricsPort})` : ''),
      );
      await retrainer.done;
    });
}
