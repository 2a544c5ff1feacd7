// e2e and rules tests talk to the emulator suite; run them through `npm test` at the repo root.
for (const name of ["FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"]) {
  if (!process.env[name]) {
    throw new Error(`${name} is not set: run these tests with \`npm test\` from the repository root, which starts the emulators`);
  }
}
