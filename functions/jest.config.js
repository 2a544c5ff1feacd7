/** Unit tests need nothing running; e2e and rules tests expect the emulator suite (npm test starts it). */
const base = {
  testEnvironment: "node",
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    // jose 6 ships ES modules only; Node loads them natively (require(esm)), jest's module system does not.
    "/node_modules/jose/.+\\.js$": ["ts-jest", { diagnostics: false, tsconfig: { allowJs: true, module: "commonjs", target: "ES2022" } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  moduleFileExtensions: ["ts", "js", "json"],
};

const tooling = {
  testEnvironment: "node",
  rootDir: "..",
  roots: ["<rootDir>/sdk/test", "<rootDir>/cli/test", "<rootDir>/provider-sdk/test"],
  // Resolved from here: the repository's root has no ts-jest of its own.
  transform: {
    "^.+\\.ts$": [
      require.resolve("ts-jest"),
      { diagnostics: false, tsconfig: { module: "commonjs", target: "ES2022", esModuleInterop: true, isolatedModules: true } },
    ],
  },
  // Sources written for Node's ESM resolution import "./x.js"; jest finds x.ts.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  moduleFileExtensions: ["ts", "js", "json"],
};

module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], setupFiles: ["<rootDir>/test/helpers/requireEmulators.ts"] },
    { ...base, displayName: "rules", testMatch: ["<rootDir>/test/rules/**/*.test.ts"], setupFiles: ["<rootDir>/test/helpers/requireEmulators.ts"] },
    // The SDK, the CLI and the provider SDK (packages at the repository's root): unit tests, and
    // end-to-end tests against the same emulator suite. The SDK and CLI are tested as built.
    { ...tooling, displayName: "tooling-unit", testMatch: ["<rootDir>/{sdk,cli,provider-sdk}/test/unit/**/*.test.ts"] },
    {
      ...tooling,
      displayName: "tooling-e2e",
      testMatch: ["<rootDir>/{sdk,cli,provider-sdk}/test/e2e/**/*.test.ts"],
      setupFiles: [require.resolve("./test/helpers/requireEmulators.ts")],
    },
  ],
};
