/**
 * A token's serial as messages and tables show it. Some modules give none (sc-hsm-embedded's SmartCard-HSMs): an
 * empty field would read as a word left out ("serial ,"), so it is said to be none.
 */
export const serialShown = (serial: string) => (serial === '' ? '(none)' : serial);
