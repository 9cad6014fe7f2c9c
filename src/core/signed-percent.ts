/** A change in per cent with its sign, as a diff shows it: "+24 %", "-35.5 %", "0 %" (never "+-35.5 %"). */
export const signedPercent = (changePct: number): string => `${changePct > 0 ? '+' : ''}${changePct} %`;
