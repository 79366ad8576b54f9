/** A problem found before a simulation starts trading; `field` names the option at fault. The message is one line. */
export class SimulationSetupError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'SimulationSetupError';
  }
}
