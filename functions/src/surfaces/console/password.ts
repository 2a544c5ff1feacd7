/** The password policy (docs/errors.md#weak_password): returns what is wrong, or null. */
const COMMON = new Set([
  "password",
  "password1",
  "password123",
  "passw0rd",
  "qwerty",
  "qwerty123",
  "letmein",
  "welcome",
  "welcome1",
  "admin",
  "administrator",
  "iloveyou",
  "abc123",
  "12345678",
  "123456789",
  "1234567890",
  "football",
  "monkey",
  "dragon",
  "sunshine",
  "princess",
  "baseball",
  "trustno1",
  "changeme",
]);

export function passwordProblem(password: string, context: { email: string; companyName: string }): string | null {
  if (password.length < 10) return "Password must be at least 10 characters long";
  if (password.length > 128) return "Password must be at most 128 characters long";
  if (!/\p{L}/u.test(password) || !/[^\p{L}]/u.test(password)) return "Password must contain a letter and a digit or symbol";
  if (new Set(password).size < 5) return "Password must use at least 5 different characters";
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[^a-z0-9]/g, ""))) return "Password is too common";
  const local = context.email.split("@")[0]!.toLowerCase();
  if (local.length >= 4 && lower.includes(local)) return "Password must not contain your e-mail address";
  const company = context.companyName.toLowerCase().replace(/\s+/g, "");
  if (company.length >= 4 && lower.replace(/\s+/g, "").includes(company)) return "Password must not contain your company name";
  return null;
}
