// Real services: generous per-test deadlines. (testTimeout is a global jest option, so the
// integration project sets its own here.) Tests wait on conditions with deadlines, never sleep.
jest.setTimeout(300_000);
