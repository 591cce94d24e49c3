import { expect, test } from 'vitest';
import { parseRequestInfo } from './request-info.ts';

const brief = (method: string, url: string) => {
  const i = parseRequestInfo(method, url);
  return [i.verb, i.isResource, i.resource.resource, i.namespace, i.name, i.subresource].join(' ');
};

// Counterexamples found by the bad-input soak (test/soak/bad-input.properties.ts).
test('dot segments are names, not directions: %2e%2e is the namespace "..", never a cluster-wide list', () => {
  expect(brief('GET', '/api/v1/namespaces/%2e%2e/pods')).toBe('list true pods ..  ');
  expect(brief('GET', '/api/v1/namespaces/default/pods/..')).toBe('get true pods default .. ');
  expect(brief('GET', '/api/v1/./pods')).toBe('get true .  pods ');
});

test('a leading // is a path, and an absolute-form target keeps only its path and query', () => {
  expect(brief('GET', '//api/v1/secrets')).toBe('list true secrets   ');
  expect(brief('GET', 'http://198.18.0.1:6443/api/v1/pods?watch=true')).toBe('watch true pods   ');
  expect(parseRequestInfo('GET', '/api/v1/pods?watch=1&limit=5#x').query.get('limit')).toBe('5');
});

test('namespace status and finalize are subresources of the namespace object, as the apiserver reads them', () => {
  expect(brief('PUT', '/api/v1/namespaces/team-a/finalize')).toBe('update true namespaces  team-a finalize');
  expect(brief('GET', '/api/v1/namespaces/team-a/status')).toBe('get true namespaces  team-a status');
  expect(brief('GET', '/api/v1/namespaces/team-a')).toBe('get true namespaces  team-a ');
  expect(brief('GET', '/api/v1/namespaces/team-a/configmaps')).toBe('list true configmaps team-a  ');
});

test('a malformed percent-escape throws URIError (the hub answers 400)', () => {
  expect(() => parseRequestInfo('GET', '/api/v1/pods/%E0%A4%A')).toThrow(URIError);
});
