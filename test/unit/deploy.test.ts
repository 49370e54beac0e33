import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse, parseAllDocuments } from 'yaml';
import { buildProgram } from '../../src/cli/main';
import { parsePipeline } from '../../src/config/load-pipeline';
import { DASHBOARD_DIR } from '../../deploy/grafana/generator/dashboards';
import { Health, startHealthServer } from '../../src/observability/health-server';
import { cliNodeFlags } from '../helpers/detector-process';

/**
 * Offline validation of the deployment files (no Docker engine or cluster needed): they parse,
 * have the fields their kind needs, and agree with the code: commands and options the CLI
 * has, npm scripts that exist, the metrics port and probe paths the detector serves, the
 * image name, the pipeline file, and the Secrets they reference.
 */

const ROOT = resolve(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  optionalDependencies: Record<string, string>;
};
const program = buildProgram();

/** What is wrong with an `aestream ...` argument list, as the CLI would parse it. */
function cliProblems(argv: readonly string[]): string[] {
  const [name, ...rest] = argv;
  const command = program.commands.find((c: Command) => c.name() === name);
  if (!command) return [`no command '${name}' (have ${program.commands.map((c) => c.name())})`];
  const problems: string[] = [];
  const given = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-')) {
      problems.push(`unexpected argument '${token}'`);
      continue;
    }
    const option = command.options.find((o) => o.long === token || o.short === token);
    if (!option) {
      problems.push(`${name} has no option ${token}`);
      continue;
    }
    given.add(option.long!);
    if (option.required) {
      const value = rest[++i];
      if (value === undefined || value.startsWith('-')) problems.push(`${token} needs a value`);
    }
  }
  for (const option of command.options) {
    if (option.mandatory && !given.has(option.long!)) problems.push(`${name} needs ${option.long}`);
  }
  return problems;
}

/** The value of `--flag` in an argument list. */
const argOf = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

/** The detector's default metrics port, from the CLI itself. */
const DEFAULT_METRICS_PORT = Number(
  program.commands
    .find((c) => c.name() === 'detect')!
    .options.find((o) => o.long === '--metrics-port')!.defaultValue,
);

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Array<{ op: string; args: string }> {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...args] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: args.join(' ') };
    });
}

describe('deployment files agree with the code', () => {
  it('the health server serves the probe paths the files use, on the CLI default port', async () => {
    expect(DEFAULT_METRICS_PORT).toBe(9464);
    const server = await startHealthServer(new Health(), 0, '127.0.0.1');
    try {
      const status = async (path: string) =>
        (await fetch(`http://127.0.0.1:${server.port}${path}`)).status;
      expect(await status('/healthz')).toBe(200);
      expect(await status('/readyz')).toBe(503); // nothing ready yet: served, not missing
      expect(await status('/metrics')).toBe(200);
      expect(await status('/nope')).toBe(404);
    } finally {
      await server.close();
    }
  });

  describe('Dockerfile', () => {
    const lines = dockerfile();
    const stages = lines
      .filter((l) => l.op === 'FROM')
      .map((l) => {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l.args)!;
        return { base: m[1]!, name: m[2] };
      });
    const args = Object.fromEntries(
      lines
        .filter((l) => l.op === 'ARG' && l.args.includes('='))
        .map((l) => l.args.split('=') as [string, string]),
    );
    const stageLines = (name: string) => {
      const starts = lines.flatMap((l, i) => (l.op === 'FROM' ? [i] : []));
      const at = starts[stages.findIndex((s) => s.name === name)]!;
      const end = starts.find((s) => s > at) ?? lines.length;
      return lines.slice(at + 1, end);
    };

    it('builds a CPU image by default and a GPU image on a CUDA base with tfjs-node-gpu', () => {
      expect(stages.at(-1)!.name).toBe('cpu');
      expect(stages.find((s) => s.name === 'cpu')!.base).toBe('${NODE_IMAGE}');
      expect(args.NODE_IMAGE).toMatch(/^node:20[.-]/);
      expect(stages.find((s) => s.name === 'gpu')!.base).toBe('${CUDA_IMAGE}');
      expect(args.CUDA_IMAGE).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime-/);
      const gpuDeps = stageLines('deps-gpu')
        .map((l) => l.args)
        .join('\n');
      expect(gpuDeps).toContain('@tensorflow/tfjs-node-gpu');
      const cpuDeps = stageLines('deps-cpu')
        .map((l) => l.args)
        .join('\n');
      expect(cpuDeps).toContain("require('@tensorflow/tfjs-node')");
      // The optional packages it keeps or drops are the package's own.
      for (const [, name] of `${gpuDeps}\n${cpuDeps}`.matchAll(/optionalDependencies\.(\S+?)"/g))
        expect(Object.keys(pkg.optionalDependencies)).toContain(name);
    });

    it('runs npm scripts that exist, copies what exists, and starts a real CLI command', () => {
      for (const l of lines.filter((x) => x.op === 'RUN')) {
        for (const [, script] of l.args.matchAll(/npm run (\S+)/g))
          expect(Object.keys(pkg.scripts)).toContain(script);
      }
      for (const l of lines.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
        for (const source of l.args.split(/\s+/).slice(0, -1))
          expect(existsSync(join(ROOT, source))).toBe(true);
      }
      for (const name of ['cpu', 'gpu']) {
        const stage = stageLines(name);
        const json = (op: string) => JSON.parse(stage.find((l) => l.op === op)!.args) as string[];
        // The image starts the CLI with the node flags the installed command has.
        expect(json('ENTRYPOINT')).toEqual(['node', ...cliNodeFlags(), 'bin/aestream.js']);
        expect(existsSync(join(ROOT, 'bin/aestream.js'))).toBe(true);
        expect(cliProblems(json('CMD'))).toEqual([]);
        expect(existsSync(join(ROOT, argOf(json('CMD'), '-p')!))).toBe(true);
        expect(stage.find((l) => l.op === 'EXPOSE')!.args).toBe(String(DEFAULT_METRICS_PORT));
        expect(stage.find((l) => l.op === 'HEALTHCHECK')!.args).toContain(
          `127.0.0.1:${DEFAULT_METRICS_PORT}/healthz`,
        );
        expect(stage.find((l) => l.op === 'USER')!.args).toBe('node');
      }
    });

    it('keeps the build context small (.dockerignore) without dropping what it copies', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'));
      expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
      for (const copied of ['src', 'bin', 'schemas', 'pipelines', 'package.json'])
        expect(ignored).not.toContain(copied);
    });
  });

  describe('docker-compose.yml', () => {
    const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as {
      services: Record<string, Record<string, unknown>>;
    };
    const services = compose.services;
    const aestream = Object.entries(services).filter(([, s]) => s.image === 'aestream:latest');

    it('runs Kafka, InfluxDB, Prometheus, Grafana, a trainer and a detector', () => {
      expect(Object.keys(services)).toEqual(
        expect.arrayContaining([
          'kafka',
          'influxdb',
          'prometheus',
          'grafana',
          'trainer',
          'detector',
        ]),
      );
      expect(aestream.map(([name]) => name).sort()).toEqual(['detector', 'producer', 'trainer']);
    });

    it('builds the aestream image from the Dockerfile and runs real commands with files that exist', () => {
      for (const [name, s] of aestream) {
        const build = s.build as { context: string; dockerfile: string; target: string };
        const context = resolve(ROOT, 'deploy', build.context);
        expect(context).toBe(ROOT);
        expect(existsSync(join(context, build.dockerfile))).toBe(true);
        expect(read(build.dockerfile)).toMatch(new RegExp(`AS ${build.target}\\b`));
        const command = (s.command as string[]).map((a) =>
          a.replace(/\$\{(\w+):-([^}]*)\}/g, (_, _v, def: string) => def),
        );
        expect({ name, problems: cliProblems(command) }).toEqual({ name, problems: [] });
        expect(existsSync(join(ROOT, argOf(command, '-p')!))).toBe(true);
        const env = s.environment as Record<string, string>;
        expect(env.KAFKA_BROKERS).toBe('kafka:19092');
        expect(env.INFLUX_URL).toBe('http://influxdb:8086');
        expect(s.volumes).toEqual(expect.arrayContaining(['models:/app/models']));
      }
      // The trainer's data file is in the folder it mounts.
      const trainer = services.trainer!;
      expect(trainer.volumes).toEqual(expect.arrayContaining(['./data:/data:ro']));
      const data = argOf(trainer.command as string[], '--data')!.replace(
        /\$\{\w+:-([^}]*)\}/,
        '$1',
      );
      expect(existsSync(join(ROOT, 'deploy/data', data.replace(/^\/data\//, '')))).toBe(true);
    });

    it('probes and scrapes the detector where it serves /readyz and /metrics', () => {
      const detector = services.detector!;
      const port = Number(argOf(detector.command as string[], '--metrics-port'));
      expect(port).toBe(DEFAULT_METRICS_PORT);
      expect(detector.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      expect((detector.healthcheck as { test: string[] }).test.join(' ')).toContain(
        `127.0.0.1:${port}/readyz`,
      );
      expect(detector.depends_on).toMatchObject({
        trainer: { condition: 'service_completed_successfully' },
        topics: { condition: 'service_completed_successfully' },
      });
      const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
        scrape_configs: Array<{
          metrics_path: string;
          static_configs: Array<{ targets: string[] }>;
        }>;
      };
      expect(prometheus.scrape_configs[0]!.metrics_path).toBe('/metrics');
      expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual([
        `detector:${port}`,
      ]);
    });

    it('gives Grafana the provisioning, the generated dashboards and the variables they read', () => {
      const grafana = services.grafana!;
      const volumes = grafana.volumes as string[];
      const mount = (target: string) =>
        volumes.find((v) => v.split(':')[1] === target)!.split(':')[0]!;
      expect(resolve(ROOT, 'deploy', mount('/etc/grafana/provisioning'))).toBe(
        join(ROOT, 'deploy/grafana/provisioning'),
      );
      const dashboards = mount('/var/lib/grafana/dashboards');
      expect(resolve(ROOT, 'deploy', dashboards)).toBe(join(ROOT, DASHBOARD_DIR));
      const provider = parse(read('deploy/grafana/provisioning/dashboards/aestream.yaml')) as {
        providers: Array<{ options: { path: string } }>;
      };
      expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
      const datasources = read('deploy/grafana/provisioning/datasources/datasources.yaml')
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      const env = grafana.environment as Record<string, string>;
      const used = [...datasources.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
      expect(used.sort()).toEqual([
        'INFLUX_PASSWORD',
        'INFLUX_URL',
        'INFLUX_USERNAME',
        'PROMETHEUS_URL',
      ]);
      for (const name of used) expect(env).toHaveProperty(name);
      expect(env.PROMETHEUS_URL).toBe('http://prometheus:9090');
    });
  });

  describe('Kubernetes manifests (deploy/k8s)', () => {
    const dir = join(ROOT, 'deploy/k8s');
    type Doc = {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace?: string };
      [k: string]: unknown;
    };
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    const docsOf = (file: string) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
        expect(d.errors).toEqual([]);
        return d.toJS() as Doc;
      });
    const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      namespace: string;
      images: Array<{ name: string }>;
    };
    const docs = kustomization.resources.flatMap(docsOf);
    const one = (kind: string) => {
      const found = docs.filter((d) => d.kind === kind);
      expect(found).toHaveLength(1);
      return found[0]! as Doc & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const secrets = docsOf('secrets.example.yaml');
    const deployment = one('Deployment');
    const job = one('Job');
    const configMap = one('ConfigMap');
    const scaled = one('ScaledObject');

    it('every file parses, and kustomization applies all but the example Secrets', () => {
      expect(kustomization.resources.sort()).toEqual(
        files.filter((f) => !['kustomization.yaml', 'secrets.example.yaml'].includes(f)).sort(),
      );
      for (const d of [...docs, ...secrets]) {
        expect(typeof d.apiVersion).toBe('string');
        expect(typeof d.kind).toBe('string');
        expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      }
      expect(secrets.every((s) => s.kind === 'Secret')).toBe(true);
      expect(docs.find((d) => d.kind === 'Namespace')!.metadata.name).toBe(kustomization.namespace);
    });

    it('the detector Deployment: image, CLI args, port, probes, resources, volumes', () => {
      const pod = deployment.spec.template.spec;
      expect(deployment.spec.selector.matchLabels).toEqual(
        deployment.spec.template.metadata.labels,
      );
      const [container] = pod.containers;
      expect(kustomization.images.map((i) => i.name)).toContain(container.image);
      expect(cliProblems(container.args)).toEqual([]);
      expect(container.args[0]).toBe('detect');
      const port = Number(argOf(container.args, '--metrics-port'));
      expect(port).toBe(DEFAULT_METRICS_PORT);
      expect(container.ports).toEqual([{ name: 'metrics', containerPort: port }]);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(container.startupProbe.httpGet.path).toBe('/healthz');
      expect(container.resources.requests).toEqual({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      const volumes = pod.volumes.map((v: { name: string }) => v.name);
      for (const m of container.volumeMounts) expect(volumes).toContain(m.name);
      // The SIGTERM drain must fit in the grace period.
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(10_000);
      const service = one('Service');
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(service.spec.ports[0]).toMatchObject({ port, targetPort: 'metrics' });
    });

    it('the pipeline ConfigMap is a valid pipeline whose ${VARS} every pod provides', () => {
      for (const workload of [deployment, job]) {
        const pod = workload.spec.template.spec;
        const [container] = pod.containers;
        const mount = container.volumeMounts.find((m: { mountPath: string }) =>
          m.mountPath.startsWith('/etc/aestream/'),
        );
        expect(argOf(container.args, '-p')).toBe(mount.mountPath);
        const text = configMap.data[mount.subPath] as string;
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(configMap.data as Record<string, string>))
          if (/^[A-Z_]+$/.test(k)) env[k] = v;
        for (const e of container.env as Array<{ name: string }>) env[e.name] = 'from-secret';
        expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
        // Parses with exactly the environment the pod gets (a missing ${VAR} is an error).
        const config = parsePipeline(text, mount.mountPath, { env, baseDir: ROOT });
        expect(config.model.store.startsWith('/app/models/')).toBe(true);
        const models = container.volumeMounts.find((m: { name: string }) => m.name === 'models');
        expect(models.mountPath).toBe('/app/models');
        if (workload === deployment) {
          expect(scaled.spec.triggers[0].metadata).toMatchObject({
            consumerGroup: config.input.kafka.group,
            topic: config.input.kafka.topic,
            bootstrapServers: env.KAFKA_BROKERS,
          });
        }
      }
      expect(cliProblems(job.spec.template.spec.containers[0].args)).toEqual([]);
      expect(job.spec.template.spec.containers[0].args[0]).toBe('train');
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
    });

    it('KEDA scales the detector Deployment on lag, up to the partition count', () => {
      expect(scaled.apiVersion).toBe('keda.sh/v1alpha1');
      expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
      const [trigger] = scaled.spec.triggers;
      expect(trigger.type).toBe('kafka');
      expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
      // The partitions of the input topic, as the Compose setup creates it.
      const partitions = Number(
        /--topic sensors\.frames --partitions (\d+)/.exec(read('deploy/docker-compose.yml'))![1],
      );
      expect(scaled.spec.maxReplicaCount).toBe(partitions);
      expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      const auth = one('TriggerAuthentication');
      expect(trigger.authenticationRef.name).toBe(auth.metadata.name);
    });

    it('references only Secrets (and keys) that secrets.example.yaml defines', () => {
      const defined = new Set(
        secrets.flatMap((s) =>
          Object.keys(s.stringData as Record<string, string>).map((k) => `${s.metadata.name}/${k}`),
        ),
      );
      const refs: string[] = [];
      for (const workload of [deployment, job]) {
        const pod = workload.spec.template.spec;
        for (const c of pod.containers)
          for (const e of c.env ?? [])
            if (e.valueFrom?.secretKeyRef)
              refs.push(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
        for (const v of pod.volumes)
          if (v.secret) expect(secrets.map((s) => s.metadata.name)).toContain(v.secret.secretName);
      }
      for (const r of one('TriggerAuthentication').spec.secretTargetRef)
        refs.push(`${r.name}/${r.key}`);
      expect(refs.length).toBeGreaterThanOrEqual(8);
      expect(refs.filter((r) => !defined.has(r))).toEqual([]);
      // Credentials never sit in the applied manifests.
      expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
    });
  });
});
