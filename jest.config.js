/** Jest runs the TypeScript sources through ts-jest. Kysely >= 0.29 ships ESM only,
 * so it is transformed too (jest's CommonJS loader cannot require ESM). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/connectors', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!kysely/)'],
  testTimeout: 60000,
};
