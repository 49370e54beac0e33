import * as tf from '@tensorflow/tfjs';
import { currentBackend, initBackend, requestedBackend } from '../../../src/training/backend';

const installed = (name: string): boolean => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

afterEach(() => {
  delete process.env.AESTREAM_BACKEND;
});

describe('backend selection', () => {
  it('lets AESTREAM_BACKEND override the pipeline and rejects unknown names', () => {
    expect(requestedBackend('auto')).toBe('auto');
    process.env.AESTREAM_BACKEND = 'cpu';
    expect(requestedBackend('wasm')).toBe('cpu');
    process.env.AESTREAM_BACKEND = 'gpu';
    expect(() => requestedBackend()).toThrow(
      /AESTREAM_BACKEND=gpu is not a backend; use one of auto, tensorflow-gpu/,
    );
  });

  (installed('@tensorflow/tfjs-node') ? it.skip : it)(
    'says what to do when a requested backend cannot load',
    async () => {
      await expect(initBackend('tensorflow')).rejects.toMatchObject({
        code: 'AE_ERR_BACKEND_UNAVAILABLE',
        message: expect.stringMatching(
          /backend 'tensorflow' cannot load .*install @tensorflow\/tfjs-node/,
        ),
      });
      expect(currentBackend()).toBeUndefined();
    },
  );

  it('auto falls through to the first backend that loads, once per process', async () => {
    tf.env().set('PROD', true);
    const first = await initBackend('auto');
    expect(first).toBe(currentBackend());
    expect(tf.getBackend()).toBe(first === 'tensorflow-gpu' ? 'tensorflow' : first);
    if (!installed('@tensorflow/tfjs-node')) expect(first).toBe('wasm');
    await expect(initBackend('auto')).resolves.toBe(first);
    const other = first === 'cpu' ? 'wasm' : 'cpu';
    await expect(initBackend(other)).rejects.toThrow(/already active/);
  });
});
