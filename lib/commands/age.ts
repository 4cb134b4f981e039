/** age (https://age-encryption.org) as argv. Pure: no I/O, no quoting. */

export const ageVersion = () => ["age", "--version"];
export const ageEncrypt = (recipients: readonly string[]) => ["age", "--encrypt", ...recipients.flatMap((r) => ["-r", r])];
export const ageDecrypt = (identityFile: string) => ["age", "--decrypt", "-i", identityFile];
/** The recipient (public key) of the secret key given on stdin. */
export const ageRecipientOf = () => ["age-keygen", "-y"];

/**
 * argv: encrypt stdin into `out` and decrypt the same ciphertext as it is written, proving it
 * opens with the key without reading it back (bash for pipefail: any stage failing fails it).
 */
export const encryptAndProve = (recipients: readonly string[], identityFile: string, out: string) => [
  "bash",
  "-o",
  "pipefail",
  "-c",
  'umask 077; out=$1; id=$2; shift 2; age --encrypt "$@" | tee "$out" | age --decrypt -i "$id" > /dev/null',
  "claw-age",
  out,
  identityFile,
  ...recipients.flatMap((r) => ["-r", r]),
];
