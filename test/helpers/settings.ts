// The problems a settings read reports: none when it succeeds, else the SettingsError's list
// (any other error is a bug and fails the test).
import { expect } from 'vitest';
import { SettingsError } from '../../src/settings/settings';

export function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    return [...(e as SettingsError).problems];
  }
  return [];
}
