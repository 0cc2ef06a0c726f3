/** A GRPO run that cannot start or go on as configured; the message names the option to change. */
export class GrpoConfigError extends Error {
  override name = "GrpoConfigError";
}
