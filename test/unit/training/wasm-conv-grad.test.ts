import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../../src/training/wasm-conv-grad';

// The WASM backend ships no Conv2DBackpropFilter; ours (and our faster
// Conv2DBackpropInput) must give the CPU backend's gradients.

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

const cases: Case[] = [
  {
    name: '28x28x1 -> 16, stride 2, same',
    x: [2, 28, 28, 1],
    filter: [3, 3, 1, 16],
    strides: 2,
    pad: 'same',
  },
  {
    name: '14x14x16 -> 32, stride 2, same',
    x: [1, 14, 14, 16],
    filter: [3, 3, 16, 32],
    strides: 2,
    pad: 'same',
  },
  {
    name: '9x7x3 -> 4, stride 1, valid, 5x5',
    x: [2, 9, 7, 3],
    filter: [5, 5, 3, 4],
    strides: 1,
    pad: 'valid',
  },
  {
    name: '11x11x2 -> 3, stride 2, same, odd size',
    x: [1, 11, 11, 2],
    filter: [3, 3, 2, 3],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'temporal 1x32x3 -> 8, 1x5 kernel, stride 1x2, same',
    x: [3, 1, 32, 3],
    filter: [1, 5, 3, 8],
    strides: [1, 2],
    pad: 'same',
  },
  {
    name: 'temporal 1x13x38 -> 6, 1x7 kernel, stride 1x2, same, odd length',
    x: [2, 1, 13, 38],
    filter: [1, 7, 38, 6],
    strides: [1, 2],
    pad: 'same',
  },
];

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

async function gradsOn(
  backend: string,
  c: Case,
): Promise<{ dx: Float32Array; dw: Float32Array; dT: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = seeded(c.x, 1);
    const w = seeded(c.filter, 2);
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad);
    const dy = seeded(y.shape, 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), dy)),
    )([x, w]);
    // Transposed convolution: its filter gradient is the same kernel with roles swapped.
    const dT = tf.grad((b: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.conv2dTranspose(dy as tf.Tensor4D, b as tf.Tensor4D, c.x, c.strides, c.pad), x),
      ),
    )(w);
    return {
      dx: (dx as tf.Tensor).dataSync() as Float32Array,
      dw: (dw as tf.Tensor).dataSync() as Float32Array,
      dT: dT.dataSync() as Float32Array,
    };
  });
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] as number;
    worst = Math.max(worst, Math.abs((actual[i] as number) - e) / (1 + Math.abs(e)));
  }
  expect(worst).toBeLessThan(1e-4);
}

// Tensor work on a shared 2-core CI machine: generous timeouts (no timing is asserted).
jest.setTimeout(30_000);

beforeAll(async () => {
  tf.env().set('PROD', true); // no "install tfjs-node" banner from the CPU backend
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('WASM conv gradient kernels', () => {
  it('are registered on the wasm backend', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    registerWasmTrainingKernels(); // idempotent
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBeDefined();
  });

  it.each(cases)('match the CPU backend: $name', async (c) => {
    const cpu = await gradsOn('cpu', c);
    const wasm = await gradsOn('wasm', c);
    expectClose(wasm.dw, cpu.dw);
    expectClose(wasm.dx, cpu.dx);
    expectClose(wasm.dT, cpu.dT);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('BatchMatMul with transposeA=%s transposeB=%s matches the CPU backend', async (ta, tb) => {
    const run = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const a = seeded(ta ? [2, 5, 3] : [2, 3, 5], 4) as tf.Tensor3D;
        const b = seeded(tb ? [2, 4, 5] : [2, 5, 4], 5) as tf.Tensor3D;
        const c = tf.matMul(a, b, ta, tb);
        expect(c.shape).toEqual([2, 3, 4]);
        return c.dataSync() as Float32Array;
      });
    };
    expectClose(await run('wasm'), await run('cpu'));
  });

  it('free their intermediate buffers', async () => {
    await tf.setBackend('wasm');
    const c = cases[1] as Case;
    await gradsOn('wasm', c);
    const before = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) await gradsOn('wasm', c);
    expect(tf.memory().numBytes).toBe(before);
  });
});
