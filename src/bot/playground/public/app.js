// Easel playground: a chat-channel page over the Easel HTTP endpoints of playground-server.ts.
// Plain browser JavaScript (no build step). Job updates arrive over server-sent events.

const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

// Who am I: a per-browser id and a name, like a chat account.
const user = {
  id: localStorage.getItem('easel.user') || (() => {
    const id = `web-${crypto.getRandomValues(new Uint32Array(2)).join('')}`.slice(0, 40);
    localStorage.setItem('easel.user', id);
    return id;
  })(),
  get name() { return localStorage.getItem('easel.name') || 'you'; },
};

async function api(path, { method = 'GET', json, form } = {}) {
  const headers = { 'x-easel-user': user.id, 'x-easel-name': encodeURIComponent(user.name) };
  let body;
  if (json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(json); }
  if (form) body = form;
  const res = await fetch(path, { method, headers, body });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error || `Request failed (${res.status})`), { code: data.code });
  return data;
}

const state = {
  matchSize: localStorage.getItem('easel.matchSize') === 'true',
  commands: [],
  command: null,
  files: {},          // image input name -> File
  jobs: new Map(),    // job id -> { el, data }
  editing: null,
};

// ---------- status ----------

async function refreshStatus() {
  try {
    const s = await api('/api/status');
    const badge = $('#mode-badge');
    badge.textContent = s.simulated ? 'simulated' : 'GPU';
    badge.className = `badge ${s.simulated ? 'simulated' : 'gpu'}`;
    badge.title = s.builtInSimulator
      ? 'No ComfyUI host configured: the built-in simulator makes the images.'
      : s.simulated ? 'The configured ComfyUI hosts are simulators: simulated images, no GPU.' : 'Connected to ComfyUI';
    const hosts = $('#hosts');
    hosts.replaceChildren(...(s.hosts.length ? s.hosts.map((host) => h('li', { title: host.disabledPresets.map((d) => `${d.preset}: ${d.reason}`).join('\n') || undefined },
      h('span', { class: `dot${host.up ? ' up' : ''}` }),
      h('span', {}, host.name, host.simulated ? h('span', { class: 'muted' }, ' (simulated)') : ''),
      h('span', { class: 'muted small' }, host.up ? 'up' : 'down'))) : [h('li', { class: 'muted' }, 'no hosts')]));
    $('#queue').textContent = `Queue: ${s.waiting} waiting, ${s.running} running`;
  } catch {
    $('#queue').textContent = 'Easel is not answering…';
  }
}

let statusTimer;
/** Refresh the queue numbers shortly after a job changes state (several changes, one request). */
function statusSoon() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(refreshStatus, 250);
}

// ---------- composer ----------

function renderCommands() {
  const row = $('#commands');
  row.replaceChildren(...state.commands.map((c) => h('button', {
    type: 'button', class: 'chip', role: 'radio', 'aria-checked': String(c.name === state.command?.name),
    title: c.description, dataset: { testid: `command-${c.name}` },
    onclick: () => selectCommand(c.name),
  }, `/${c.name}`)));
}

function selectCommand(name) {
  state.command = state.commands.find((c) => c.name === name) || state.commands[0];
  localStorage.setItem('easel.command', state.command.name);
  renderCommands();
  $('#slash').textContent = `/${state.command.name}`;
  $('#command-help').textContent = state.command.description;
  $('#text').placeholder = placeholderFor(state.command);
  renderAttachments();
  $('#options').replaceChildren(...state.command.options.map((o) => optionField(o, state.command.name)));
}

/** What to type for this command, from its own options: "e.g. watercolor a cat at dusk, denoise 0.6". */
function placeholderFor(cmd) {
  const opt = (name) => cmd.options.find((o) => o.name === name);
  const bits = [];
  const style = opt('style');
  const styleExample = style?.choices?.find((c) => c.value !== 'none' && c.value !== String(style.default)) || style?.choices?.[0];
  if (styleExample) bits.push(styleExample.value);
  if (opt('prompt')) bits.push(cmd.name === 'upscale' || cmd.name === 'restore' ? 'sharp details' : 'a harbour at dusk');
  const numbers = ['scale', 'count', 'blend', 'denoise'].map(opt).filter((o) => o && o.default !== undefined);
  const n = numbers[0];
  const words = bits.join(' ');
  const tail = n ? `${n.name} ${n.default}` : '';
  const example = [words, tail].filter(Boolean).join(', ');
  return example ? `/${cmd.name}: e.g. ${example} (optional)` : `/${cmd.name}: options in words (optional)`;
}

/** An attachment changed: an earlier "needs an image" complaint no longer applies. */
function clearComposerError() {
  $('#composer-error').textContent = '';
}

function renderAttachments() {
  const row = $('#attachments');
  row.replaceChildren(...state.command.images.map((name) => {
    const file = state.files[name];
    const label = name === 'image' ? 'image' : name.replace(/(\d+)$/, ' $1');
    const input = h('input', { type: 'file', accept: 'image/*', 'aria-label': `Attach ${label}`, dataset: { testid: `file-${name}` },
      onchange: (e) => { if (e.target.files[0]) { state.files[name] = e.target.files[0]; clearComposerError(); renderAttachments(); } } });
    const thumb = file ? h('img', { src: URL.createObjectURL(file), alt: `${label} to send` }) : null;
    return h('div', { class: 'attach', dataset: { attached: String(Boolean(file)) } },
      thumb, h('span', {}, file ? `${file.name} · ${(file.size / 1024).toFixed(0)} KiB` : `+ Attach ${label}`),
      input,
      file ? h('button', { type: 'button', class: 'clear', 'aria-label': `Remove ${label}`, onclick: (e) => { e.stopPropagation(); delete state.files[name]; renderAttachments(); } }, '✕') : null);
  }));
}

function optionField(o, command, value) {
  const id = `opt-${command}-${o.name}-${Math.random().toString(36).slice(2, 7)}`;
  const hint = [o.description, o.min !== undefined && o.max !== undefined ? `${o.min}–${o.max}` : ''].filter(Boolean).join(' · ');
  let input;
  const def = o.default === undefined ? '' : String(o.default);
  if (o.type === 'choice' && !o.autocomplete) {
    input = h('select', { id }, h('option', { value: '' }, def ? `default (${(o.choices || []).find((c) => c.value === def)?.name || def})` : 'default'),
      ...(o.choices || []).map((c) => h('option', { value: c.value, selected: value !== undefined && String(value) === c.value }, c.name)));
  } else if (o.type === 'boolean') {
    input = h('select', { id }, h('option', { value: '' }, `default (${def === 'true' ? 'on' : 'off'})`),
      h('option', { value: 'true', selected: value === true }, 'on'), h('option', { value: 'false', selected: value === false }, 'off'));
  } else if (o.type === 'integer' || o.type === 'number') {
    input = h('input', { id, type: 'number', inputmode: 'decimal', min: o.min, max: o.max, step: o.step ?? (o.type === 'integer' ? 1 : 'any'),
      placeholder: def ? `${def} (default)` : o.name === 'seed' ? 'random' : '', value: value ?? undefined });
  } else {
    input = h('input', { id, type: 'text', placeholder: def || (o.autocomplete ? 'type to search' : ''), value: value ?? undefined, maxlength: 1000 });
    if (o.autocomplete || o.type === 'choice') {
      const list = h('datalist', { id: `${id}-list` }, ...(o.choices || []).map((c) => h('option', { value: c.value }, c.name)));
      input.setAttribute('list', list.id);
      let timer;
      input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const q = new URLSearchParams({ command, option: o.name, typed: input.value });
          const choices = await api(`/api/choices?${q}`).catch(() => []);
          list.replaceChildren(...choices.slice(0, 25).map((c) => h('option', { value: c.value }, c.name)));
        }, 150);
      });
      input.dataset.option = o.name;
      input.dataset.type = o.type;
      return h('div', { class: 'field' }, h('label', { for: id }, o.name), input, list, h('span', { class: 'hint' }, hint));
    }
  }
  input.dataset.option = o.name;
  input.dataset.type = o.type;
  return h('div', { class: `field${o.name === 'prompt' || o.name === 'negative' ? ' wide' : ''}` }, h('label', { for: id }, o.name), input, h('span', { class: 'hint' }, hint));
}

/** Options the user filled in (empty fields keep the preset's defaults). */
function collectOptions(root) {
  const out = {};
  for (const el of root.querySelectorAll('[data-option]')) {
    const name = el.dataset.option;
    if (el.value === '') continue;
    const type = el.dataset.type;
    if (type === 'integer' || type === 'number') out[name] = Number(el.value);
    else if (type === 'boolean') out[name] = el.value === 'true';
    else out[name] = el.value;
  }
  return out;
}

async function send(ev) {
  ev.preventDefault();
  const cmd = state.command;
  const error = $('#composer-error');
  error.textContent = '';
  const missing = cmd.images.filter((n) => !state.files[n]);
  if (missing.length) {
    error.textContent = `/${cmd.name} needs ${cmd.images.length > 1 ? `${cmd.images.length} images` : 'an image'}: attach ${missing.join(' and ')} first (or drop it on the page).`;
    return;
  }
  const form = new FormData();
  form.set('command', cmd.name);
  form.set('text', $('#text').value);
  form.set('options', JSON.stringify(collectOptions($('#options'))));
  for (const n of cmd.images) form.set(n, state.files[n]);
  const button = $('#send');
  button.disabled = true;
  try {
    // The command in the address lets the server check limits before it reads the upload.
    const m = await api(`/api/jobs?command=${encodeURIComponent(cmd.name)}`, { method: 'POST', form });
    upsertJob(m);
    $('#text').value = '';
  } catch (err) {
    error.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

// ---------- messages ----------

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function avatarFor(name, bot) {
  return h('div', { class: `avatar${bot ? ' bot' : ''}`, 'aria-hidden': 'true' }, bot ? 'E' : (name || '?').slice(0, 1).toUpperCase());
}

// Follow new messages while the reader is at the bottom; stay put when they scrolled up to read.
let stickToBottom = true;
function scrollToBottom(force) {
  const box = $('#messages');
  if (force || stickToBottom) {
    box.scrollTop = box.scrollHeight;
    stickToBottom = true;
  }
}

/** A reply only this browser sees (like Discord's ephemeral messages). */
function ephemeral(text, after) {
  const msg = h('div', { class: 'msg', role: 'status', dataset: { testid: 'ephemeral' } }, avatarFor('', true),
    h('div', { class: 'msg-body ephemeral' }, h('div', { class: 'msg-head' }, h('span', { class: 'author' }, 'Easel'), h('span', { class: 'app-tag' }, 'APP')),
      h('p', {}, text), h('p', { class: 'note' }, 'Only you can see this.')));
  if (after) after.append(msg); else $('#messages').append(msg);
  scrollToBottom(true);
  setTimeout(() => msg.remove(), 20000);
}

function commandLine(job) {
  const p = job.params || {};
  const bits = [];
  if (p.prompt) bits.push(String(p.prompt));
  if (p.style && p.style !== 'none') bits.push(`style ${p.style}`);
  if (job.action) bits.push(`(${job.title.split(' · ')[1] || job.action})`);
  return h('p', { class: 'command-text' }, h('span', { class: 'cmd' }, `/${job.command}`), ' ', bits.join(' · '));
}

function upsertJob(m) {
  if (m.type === 'deleted') {
    const entry = state.jobs.get(m.jobId);
    if (entry) {
      entry.el.dataset.state = 'deleted';
      $('.reply-body', entry.el).replaceChildren(h('p', { class: 'deleted-note' }, 'Result deleted by its author.'));
    }
    return;
  }
  $('#empty')?.remove();
  let entry = state.jobs.get(m.job.id);
  if (!entry) {
    const el = h('article', { class: 'job', dataset: { testid: 'job', jobId: m.job.id } });
    entry = { el, data: m };
    state.jobs.set(m.job.id, entry);
    $('#messages').append(el);
    buildJob(entry, m);
    scrollToBottom(true);
  }
  const stateBefore = entry.el.dataset.state;
  entry.data = m;
  updateJob(entry, m);
  if (entry.el.dataset.state !== stateBefore) statusSoon();
  scrollToBottom(false);
}

function buildJob(entry, m) {
  const job = m.job;
  const when = timeFmt.format(new Date(job.createdAt));
  const userMsg = h('div', { class: 'msg' }, avatarFor(job.author.displayName),
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-head' }, h('span', { class: 'author' }, job.author.displayName || job.author.userId), h('span', { class: 'time' }, when)),
      commandLine(job),
      job.inputs.length ? h('div', { class: 'thumbs' }, ...job.inputs.map((img, i) => h('img', { src: img.url, alt: `input ${i + 1}`, loading: 'lazy' }))) : null));
  const reply = h('div', { class: 'msg reply' }, avatarFor('', true),
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-head' }, h('span', { class: 'author' }, 'Easel'), h('span', { class: 'app-tag' }, 'APP'), h('span', { class: 'time' }, when)),
      h('div', { class: 'reply-body' })));
  entry.el.replaceChildren(userMsg, reply);
}

function updateJob(entry, m) {
  const { job, progress, result } = m;
  entry.el.dataset.state = result ? 'done' : job.state;
  entry.el.classList.toggle('failed', job.state === 'failed');
  const body = $('.reply-body', entry.el);
  const parts = [];

  if (result) {
    parts.push(renderResult(job, result));
  } else if (job.state === 'done') {
    parts.push(h('p', { class: 'status-lines' }, 'Finishing up…'));
  } else {
    const lines = progress?.lines?.length ? progress.lines : [job.state === 'failed' ? `The job failed: ${job.error?.message || 'unknown error'}` : 'Queued…'];
    const text = progress?.type === 'running' ? lines.slice(1) : lines;
    const bad = job.state === 'failed' || progress?.type === 'failed';
    if (progress?.type === 'running') {
      const pct = progress.maxSteps ? Math.round((progress.step / progress.maxSteps) * 100) : 0;
      const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct }, h('div'));
      bar.firstChild.style.width = `${pct}%`;
      parts.push(h('p', { class: 'status-lines', dataset: { testid: 'progress-text' } }, `Working: step ${progress.step} of ${progress.maxSteps}${progress.runs > 1 ? ` · run ${progress.run} of ${progress.runs}` : ''}`), bar);
      if (text.length) parts.push(h('p', { class: 'status-lines muted' }, text.join('\n')));
      if (progress.preview) parts.push(h('img', { class: 'preview', src: progress.preview, alt: 'live preview', onload: () => scrollToBottom(false) }));
    } else {
      parts.push(h('p', { class: `status-lines${bad ? ' bad' : ''}`, dataset: { testid: 'progress-text' } }, text.join('\n')));
    }
    if (['queued', 'uploading', 'submitted', 'running'].includes(job.state)) {
      parts.push(h('div', { class: 'actions' }, h('div', { class: 'action-row' },
        h('button', { type: 'button', class: 'danger', dataset: { testid: 'action-cancel' }, onclick: (e) => act(entry, { action: 'cancel' }, e.target) }, 'Cancel'))));
    }
  }
  const keepEdit = entry.editForm && body.contains(entry.editForm) ? entry.editForm : null;
  body.replaceChildren(...parts, ...(keepEdit ? [keepEdit] : []));
}

function renderResult(job, result) {
  const wrap = h('div', { class: 'result' });
  const main = result.files[0];
  // "Match input size": a single result is shown at the input's size and aspect instead of the model's.
  const matchedMain = state.matchSize && result.matched && result.outputs.length === 1 ? result.matched.urls[0] : null;
  if (main) {
    const src = matchedMain || main.url;
    const img = h('img', { class: `gallery${job.spoiler ? ' spoiler' : ''}`, src, alt: main.description, dataset: { testid: 'gallery', size: matchedMain ? 'input' : 'model' },
      onload: () => scrollToBottom(false) });
    img.addEventListener('click', () => {
      if (img.classList.contains('spoiler')) img.classList.remove('spoiler');
      else window.open(src, '_blank', 'noopener');
    });
    wrap.append(img);
  }
  if (result.outputs.length) {
    const base = `easel-${job.command}-${job.id.slice(0, 8)}`;
    wrap.append(h('div', { class: 'downloads', dataset: { testid: 'downloads' } }, h('span', { class: 'muted' }, 'Full size:'),
      ...result.outputs.map((o) => h('a', { href: o.url, target: '_blank', rel: 'noopener', download: `${base}-${o.label}.png` }, `${o.label} (${o.width}×${o.height})`))));
    if (result.matched) {
      const m = result.matched;
      wrap.append(h('div', { class: 'downloads', dataset: { testid: 'matched-downloads' } }, h('span', { class: 'muted' }, `At your image's size (${m.width}×${m.height}):`),
        ...m.urls.map((url, i) => h('a', { href: url, target: '_blank', rel: 'noopener', download: `${base}-${result.outputs[i].label}-${m.width}x${m.height}.png` }, result.outputs[i].label))));
    }
  }
  // The parameters fold away: one line to see what it was, the rest on request.
  const headline = result.summary.filter((l) => /^(Prompt|Style|Denoise|Scale|Output):/.test(l)).slice(0, 3).join(' · ') || result.summary[0] || 'Details';
  wrap.append(h('details', { class: 'summary', dataset: { testid: 'summary' } },
    h('summary', { dataset: { testid: 'summary-line' } }, headline),
    ...result.summary.map((line) => h('div', {}, line))));

  // Rows like a chat message's buttons: reruns (and delete, set apart), then V1..Vn and U1..Un.
  const button = (a) => h('button', {
    type: 'button', class: a.action === 'delete' ? 'danger push-right' : a.action === 'reroll' ? 'primary' : '', title: titleFor(a),
    dataset: { testid: `action-${a.action}${a.index ? `-${a.index}` : ''}` },
    onclick: (e) => a.action === 'edit' ? openEdit(job) : act(state.jobs.get(job.id), a, e.target),
  }, a.label);
  const reruns = result.actions.filter((a) => !['vary', 'upscale', 'delete'].includes(a.action)).map(button);
  const vary = result.actions.filter((a) => a.action === 'vary').map(button);
  const upscale = result.actions.filter((a) => a.action === 'upscale').map(button);
  const del = result.actions.filter((a) => a.action === 'delete').map(button);
  const rows = vary.length + upscale.length <= 6 ? [[...reruns, ...del], [...vary, ...upscale]] : [[...reruns, ...del], vary, upscale];
  const actions = h('div', { class: 'actions' }, ...rows.filter((r) => r.length).map((r) => h('div', { class: 'action-row' }, ...r)));
  wrap.append(actions);
  return wrap;
}

function titleFor(a) {
  return {
    reroll: 'Same settings, new seed', subtle: 'Less change (lower denoise)', strong: 'More change (higher denoise)',
    ladder: 'One seed at several strengths, side by side', vary: `Variations of image ${a.index}`, upscale: `Upscale image ${a.index}`,
    edit: 'Change the prompt or settings and run again', delete: 'Delete this result', cancel: 'Stop this job',
  }[a.action] || a.label;
}

async function act(entry, a, button) {
  const id = entry.data.job.id;
  if (button) button.disabled = true;
  try {
    if (a.action === 'cancel') await api(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
    else if (a.action === 'delete') {
      if (!confirm('Delete this result?')) return;
      await api(`/api/jobs/${encodeURIComponent(id)}/delete`, { method: 'POST' });
    } else {
      const m = await api(`/api/jobs/${encodeURIComponent(id)}/rerun`, { method: 'POST', json: { action: a.action, index: a.index, edits: a.edits } });
      upsertJob(m);
    }
  } catch (err) {
    ephemeral(err.message, entry.el);
  } finally {
    if (button) button.disabled = false;
  }
}

function openEdit(job) {
  const entry = state.jobs.get(job.id);
  const spec = state.commands.find((c) => c.name === job.command);
  if (!entry || !spec) return;
  entry.editForm?.remove();
  const fields = h('div', { class: 'options-grid' }, ...spec.options.map((o) => optionField(o, job.command, job.params[o.name])));
  const form = h('form', { class: 'edit-form', dataset: { testid: 'edit-form' } },
    h('strong', {}, `Edit and run /${job.command} again`), fields,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, 'Run with changes'),
      h('button', { type: 'button', onclick: () => { form.remove(); entry.editForm = null; } }, 'Close')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const all = collectOptions(fields);
    const edits = {};
    for (const [k, v] of Object.entries(all)) if (String(job.params[k]) !== String(v)) edits[k] = v;
    await act(entry, { action: 'edit', edits }, form.querySelector('button[type=submit]'));
    form.remove();
    entry.editForm = null;
  });
  entry.editForm = form;
  $('.reply-body', entry.el).append(form);
  form.querySelector('input, select')?.focus();
}

// ---------- live updates ----------

function connectEvents() {
  const source = new EventSource('/api/events');
  source.onmessage = (e) => upsertJob(JSON.parse(e.data));
  source.onopen = () => refreshStatus();
}

// ---------- drag, drop and paste ----------

function attachFile(file) {
  if (!file || !state.command) return;
  const free = state.command.images.find((n) => !state.files[n]) || state.command.images[0];
  if (!free) return;
  state.files[free] = file;
  clearComposerError();
  renderAttachments();
}

function setupDrop() {
  const overlay = $('#drop-overlay');
  let depth = 0;
  window.addEventListener('dragenter', (e) => { if (e.dataTransfer?.types.includes('Files')) { depth++; overlay.hidden = false; } });
  window.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    for (const f of e.dataTransfer?.files || []) attachFile(f);
  });
  window.addEventListener('paste', (e) => {
    const f = [...(e.clipboardData?.files || [])].find((x) => x.type.startsWith('image/'));
    if (f) attachFile(f);
  });
}

// ---------- start ----------

async function main() {
  const name = $('#display-name');
  name.value = user.name === 'you' ? '' : user.name;
  name.placeholder = 'you';
  name.addEventListener('change', () => localStorage.setItem('easel.name', name.value.trim()));
  $('#composer').addEventListener('submit', send);
  const match = $('#match-size');
  match.checked = state.matchSize;
  match.addEventListener('change', () => {
    state.matchSize = match.checked;
    localStorage.setItem('easel.matchSize', String(match.checked));
    for (const entry of state.jobs.values()) if (entry.data.result) updateJob(entry, entry.data);
  });
  const box = $('#messages');
  box.addEventListener('scroll', () => { stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80; });
  setupDrop();
  refreshStatus();
  setInterval(refreshStatus, 5000);
  try {
    state.commands = await api('/api/commands');
  } catch (err) {
    $('#composer-error').textContent = `Could not load the commands: ${err.message}`;
    return;
  }
  selectCommand(localStorage.getItem('easel.command') || 'restyle');
  connectEvents();
}

main();
