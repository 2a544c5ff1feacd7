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

module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], setupFiles: ["<rootDir>/test/helpers/requireEmulators.ts"] },
    { ...base, displayName: "rules", testMatch: ["<rootDir>/test/rules/**/*.test.ts"], setupFiles: ["<rootDir>/test/helpers/requireEmulators.ts"] },
  ],
};
