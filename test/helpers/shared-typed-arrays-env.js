// Jest runs each test file in its own realm, but onnxruntime-node's native binding
// returns typed arrays of the host realm, which fail onnxruntime-common's
// `instanceof Float32Array` checks there. Tests that run the ONNX engine use this
// environment, which hands the host's typed-array constructors to the test realm.
const { TestEnvironment } = require('jest-environment-node');

const shared = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of shared) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
