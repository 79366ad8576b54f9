import { describe, expect, it } from 'vitest';
import { CancelReason, RejectCode, isInputRejection } from './reasons.ts';

describe('reason tables', () => {
  it('reject codes are unique and sit in their range', () => {
    const codes = Object.values(RejectCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, code] of Object.entries(RejectCode)) {
      const expectedInput = name.startsWith('Invalid') || name.startsWith('Quantity') || name.startsWith('Price');
      expect(isInputRejection(code), name).toBe(expectedInput);
    }
  });

  it('cancel reasons are unique', () => {
    const reasons = Object.values(CancelReason);
    expect(new Set(reasons).size).toBe(reasons.length);
  });
});
