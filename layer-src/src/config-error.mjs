/**
 * An environment variable the preload reads holds a value it cannot use.
 * The message names the variable, the value received and how to fix it.
 */
export class PreloadConfigError extends Error {
  /**
   * @param {string} variable the environment variable's name
   * @param {string} value the value received
   * @param {string} problem what is wrong with it
   * @param {string} fix how to correct it
   */
  constructor(variable, value, problem, fix) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${problem}. ${fix}`);
    this.name = 'PreloadConfigError';
    this.variable = variable;
    this.value = value;
  }
}
