import { describe, expect, it } from 'vitest';
import { isLoopback } from './loopback.js';

describe('isLoopback', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.8.9.10', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each(['10.0.0.1', '128.0.0.1', 'smtp.example.com', '127.example.com', '::2', 'localhost.example.com'])('%s is not', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
