import { describe, expect, it } from 'vitest';
import { columnTitle, headerContext } from './table-format.js';
import { renderTemplate } from './template.js';

describe('column titles', () => {
  it.each([
    ['Name', 'NAME'],
    ['CreatedAt', 'CREATED AT'],
    ['LocalVolumes', 'LOCAL VOLUMES'],
    ['BerthEndpoint', 'BERTH ENDPOINT'],
    ['IPv6', 'IPV6'],
    ['ID', 'ID'],
  ])('%s is headed %s', (field, title) => {
    expect(columnTitle(field)).toBe(title);
  });

  it('heads each column with its own title where given, in a list or a map', () => {
    const header = headerContext('*formatter.networkContext', [['ID', 'NETWORK ID'], 'Name', 'CreatedAt']);
    expect(renderTemplate('{{.ID}}|{{.Name}}|{{.CreatedAt}}', header)).toBe('NETWORK ID|NAME|CREATED AT');
    expect(renderTemplate('{{.ID}}|{{.Name}}', headerContext('*formatter.nodeContext', { ID: 'ID', Name: 'HOSTNAME' }))).toBe('ID|HOSTNAME');
  });
});
