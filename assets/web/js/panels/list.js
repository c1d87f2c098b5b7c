// ListPanel: what the list panels (mocks, targets, scenarios) share. Each lists one
// collection (GET path, the list under data[key]), has a form whose submit creates or saves,
// and a refresh button; a failed refresh is shown in the panel's error element.

import { api } from '../api.js';
import { $, showError } from '../dom.js';

export class ListPanel {
  /**
   * path: the collection ('/api/mocks'); key: its list in the response data ('mocks');
   * listError: the element a failed refresh is shown in; form, refreshButton: element ids;
   * onSubmit(): the form was submitted (its default action is prevented).
   * A subclass provides render(list).
   */
  constructor({ path, key, listError, form, refreshButton, onSubmit }) {
    this.listPath = path;
    this.listKey = key;
    this.listError = listError;
    this.refreshTimer = 0;
    this.form = $(form);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      onSubmit();
    });
    $(refreshButton).addEventListener('click', () => this.refresh());
  }

  async refresh() {
    try {
      const res = await api('GET', this.listPath);
      this.render(res.data?.[this.listKey] || []);
    } catch (err) {
      showError(this.listError, err);
    }
  }

  /** refreshSoon refreshes within 300 ms; calls meanwhile share that refresh. */
  refreshSoon() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.refresh();
    }, 300);
  }
}
