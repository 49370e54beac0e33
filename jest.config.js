// Two projects: unit tests run anywhere; integration tests need the local stack
// (npm run stack:up) and talk to the real Kafka broker and InfluxDB.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      // The detectors under test run the ONNX engine, whose native binding hands back
      // typed arrays of the host realm: share those constructors with the test realm.
      testEnvironment: '<rootDir>/test/helpers/shared-typed-arrays-env.js',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup-timeout.ts'],
      slowTestThreshold: 30,
    },
  ],
};
