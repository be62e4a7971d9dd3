/**
 * POST /prompt validation, following ComfyUI 0.3.64's validate_prompt / validate_inputs:
 * only nodes reachable from output nodes are checked; errors and 400/200 bodies have the real shapes.
 */
import { isFloatMember, keysOf, markFloat } from './ordered-json.ts';
import {
  PyError,
  pyFloat,
  pyInt,
  pyRepr,
  pyStr,
  pyToBool,
  pyToFloat,
  pyToInt,
  pyTypeName,
} from './py-format.ts';
import type { InputSpec, ObjectInfo } from './object-info.ts';
import type { Folders } from './folders.ts';

export interface ValidationErrorItem {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}
export interface NodeErrors {
  errors: ValidationErrorItem[];
  dependent_outputs: string[];
  class_type: string;
}
export interface ValidationResult {
  ok: boolean;
  error: ValidationErrorItem | null;
  outputs: string[];
  nodeErrors: Record<string, NodeErrors>;
}

/** Nodes with a VALIDATE_INPUTS(image) custom validator: these inputs skip min/max/combo checks. */
const CUSTOM_VALIDATED: Record<string, string[]> = { LoadImage: ['image'], LoadImageMask: ['image'] };

class PyException extends Error {
  constructor(
    readonly pyType: string,
    readonly text: string,
    readonly where: string[],
  ) {
    super(text);
  }
}

function tracebackFor(where: string[]): string[] {
  return where;
}

const TB_INNER = [
  '  File "<comfyui>/execution.py", line 808, in validate_inputs\n    r = await validate_inputs(prompt_id, prompt, o_id, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n',
];
const TB_LOOKUP = '  File "<comfyui>/execution.py", line 788, in validate_inputs\n    o_class_type = prompt[o_id][\'class_type\']\n                   ~~~~~~^^^^^^\n';
const TB_INDEX = '  File "<comfyui>/execution.py", line 790, in validate_inputs\n    received_type = r[val[1]]\n                    ~^^^^^^^^\n';
const TB_INPUTS = '  File "<comfyui>/execution.py", line 738, in validate_inputs\n    inputs = prompt[unique_id][\'inputs\']\n             ~~~~~~~~~~~~~~~~~^^^^^^^^^^\n';
const TB_TOP = '  File "<comfyui>/execution.py", line 1046, in validate_prompt\n    m = await validate_inputs(prompt_id, prompt, o, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n';

function validateNodeInput(received: unknown, expected: unknown): boolean {
  if (received === expected) return true;
  if (typeof received !== 'string' || typeof expected !== 'string') return false;
  const r = new Set(received.split(',').map((t) => t.trim()));
  const e = new Set(expected.split(',').map((t) => t.trim()));
  if (r.has('*') || e.has('*')) return true;
  for (const t of r) if (e.has(t)) return true;
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface TopLevelProblem {
  status: 400 | 500;
  error?: ValidationErrorItem;
}

/**
 * Validate a prompt. Mutates constant inputs to their coerced values (like the server).
 * Throws PromptShapeError for inputs the real server answers with a 500.
 */
export class PromptShapeError extends Error {}

export async function validatePrompt(
  prompt: unknown,
  partialTargets: unknown,
  info: ObjectInfo,
  folders: Folders,
): Promise<ValidationResult> {
  if (!isObject(prompt)) throw new PromptShapeError('prompt is not an object');
  const outputs: string[] = [];
  const nodeIds = keysOf(prompt);
  for (const x of nodeIds) {
    const node = prompt[x];
    if (!isObject(node) || !('class_type' in node)) {
      return fail({
        type: 'invalid_prompt',
        message: 'Cannot execute because a node is missing the class_type property.',
        details: `Node ID '#${x}'`,
        extra_info: {},
      });
    }
    const classType = node.class_type;
    const def = typeof classType === 'string' ? info[classType] : undefined;
    if (!def) {
      return fail({
        type: 'invalid_prompt',
        message: `Cannot execute because node ${pyStr(classType)} does not exist.`,
        details: `Node ID '#${x}'`,
        extra_info: {},
      });
    }
    if (def.output_node === true) {
      if (partialTargets === undefined || partialTargets === null || (Array.isArray(partialTargets) && partialTargets.includes(x))) {
        outputs.push(x);
      }
    }
  }
  if (outputs.length === 0) {
    return fail({ type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} });
  }

  type Verdict = [boolean, ValidationErrorItem[], string];
  const validated = new Map<string, Verdict>();

  const validateInputs = async (uniqueId: string): Promise<Verdict> => {
    const memo = validated.get(uniqueId);
    if (memo) return memo;
    // Python recurses until RecursionError on a cycle; report the same instead of looping forever.
    if (inProgress.has(uniqueId)) throw new PyException('RecursionError', 'maximum recursion depth exceeded', []);
    inProgress.add(uniqueId);
    try {
      return await validateNode(uniqueId);
    } finally {
      inProgress.delete(uniqueId);
    }
  };
  const inProgress = new Set<string>();
  const validateNode = async (uniqueId: string): Promise<Verdict> => {
    const node = prompt[uniqueId] as Record<string, unknown>;
    if (!isObject(node.inputs)) {
      if (!('inputs' in node)) throw new PyException('KeyError', "'inputs'", [TB_INPUTS]);
    }
    const inputs = (node.inputs ?? {}) as Record<string, unknown>;
    const classType = node.class_type as string;
    const def = info[classType];
    const required = def.input.required ?? {};
    const optional = def.input.optional ?? {};
    const validateFnInputs = CUSTOM_VALIDATED[classType] ?? [];
    const errors: ValidationErrorItem[] = [];
    let valid = true;

    const entries: Array<[string, InputSpec, 'required' | 'optional']> = [
      ...Object.keys(required).map((k) => [k, required[k], 'required'] as [string, InputSpec, 'required']),
      ...Object.keys(optional)
        .filter((k) => !(k in required))
        .map((k) => [k, optional[k], 'optional'] as [string, InputSpec, 'optional']),
    ];
    for (const [x, spec, category] of entries) {
      const inputType = spec[0];
      const extra = (spec[1] ?? {}) as Record<string, unknown>;
      const inputConfig = [inputType, extra];
      if (!Object.prototype.hasOwnProperty.call(inputs, x)) {
        if (category === 'required') {
          errors.push({
            type: 'required_input_missing',
            message: 'Required input is missing',
            details: x,
            extra_info: { input_name: x },
          });
        }
        continue;
      }
      let val = inputs[x];
      if (Array.isArray(val)) {
        if (val.length !== 2) {
          errors.push({
            type: 'bad_linked_input',
            message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
            details: x,
            extra_info: { input_name: x, input_config: inputConfig, received_value: val },
          });
          continue;
        }
        const oId = val[0];
        if (typeof oId !== 'string' || !Object.prototype.hasOwnProperty.call(prompt, oId)) {
          throw new PyException('KeyError', pyRepr(oId), [TB_LOOKUP]);
        }
        const oNode = prompt[oId] as Record<string, unknown>;
        const oDef = info[oNode.class_type as string];
        const slot = val[1];
        if (typeof slot !== 'number' || !Number.isInteger(slot)) {
          throw new PyException('TypeError', `tuple indices must be integers or slices, not ${pyTypeName(slot)}`, [TB_INDEX]);
        }
        const outs = oDef.output;
        const idx = slot < 0 ? outs.length + slot : slot;
        if (idx < 0 || idx >= outs.length) throw new PyException('IndexError', 'tuple index out of range', [TB_INDEX]);
        const receivedType = outs[idx];
        if (!validateNodeInput(receivedType, inputType)) {
          errors.push({
            type: 'return_type_mismatch',
            message: 'Return type mismatch between linked nodes',
            details: `${x}, received_type(${pyStr(receivedType)}) mismatch input_type(${pyStr(inputType)})`,
            extra_info: { input_name: x, input_config: inputConfig, received_type: receivedType, linked_node: val },
          });
          continue;
        }
        try {
          const r = await validateInputs(oId);
          if (r[0] === false) {
            valid = false;
            continue;
          }
        } catch (e) {
          const ex = asPyException(e);
          valid = false;
          validated.set(oId, [
            false,
            [
              {
                type: 'exception_during_inner_validation',
                message: 'Exception when validating inner node',
                details: ex.text,
                extra_info: {
                  input_name: x,
                  input_config: inputConfig,
                  exception_message: ex.text,
                  exception_type: ex.pyType,
                  traceback: tracebackFor([...TB_INNER, ...ex.where]),
                  linked_node: val,
                },
              },
            ],
            oId,
          ]);
          continue;
        }
      } else {
        let isFloat = false;
        try {
          if (isObject(val) && '__value__' in val) {
            val = val.__value__;
            inputs[x] = val;
          }
          if (inputType === 'INT') {
            val = pyToInt(val);
            inputs[x] = val;
            markFloat(inputs, x, false);
          }
          if (inputType === 'FLOAT') {
            val = pyToFloat(val);
            inputs[x] = val;
            markFloat(inputs, x); // the queued prompt (and /history, /queue) now hold a Python float
            isFloat = true;
          }
          if (inputType === 'STRING') {
            val = pyStr(val);
            inputs[x] = val;
          }
          if (inputType === 'BOOLEAN') {
            val = pyToBool(val);
            inputs[x] = val;
          }
        } catch (e) {
          const msg = e instanceof PyError ? e.message : String(e);
          errors.push({
            type: 'invalid_input_type',
            message: `Failed to convert an input value to a ${pyStr(inputType)} value`,
            details: `${x}, ${pyStr(val)}, ${msg}`,
            extra_info: { input_name: x, input_config: inputConfig, received_value: val, exception_message: msg },
          });
          continue;
        }
        if (!validateFnInputs.includes(x)) {
          const fmtVal = (v: unknown) => (typeof v === 'number' ? (isFloat ? pyFloat(v) : Number.isInteger(v) ? pyInt(v) : pyFloat(v)) : pyStr(v));
          // A limit prints as the definition holds it: LatentBlend's FLOAT blend_factor has int limits 0 and 1.
          const fmtLimit = (k: 'min' | 'max') => {
            const v = extra[k];
            return typeof v === 'number' ? (isFloatMember(extra, k) ? pyFloat(v) : Number.isInteger(v) ? pyInt(v) : pyFloat(v)) : pyStr(v);
          };
          const receivedInfo = () => {
            const info: Record<string, unknown> = { input_name: x, input_config: inputConfig, received_value: val };
            if (isFloat) markFloat(info, 'received_value');
            return info;
          };
          if ('min' in extra && typeof val === 'number' && val < (extra.min as number)) {
            errors.push({
              type: 'value_smaller_than_min',
              message: `Value ${fmtVal(val)} smaller than min of ${fmtLimit('min')}`,
              details: x,
              extra_info: receivedInfo(),
            });
            continue;
          }
          if ('max' in extra && typeof val === 'number' && val > (extra.max as number)) {
            errors.push({
              type: 'value_bigger_than_max',
              message: `Value ${fmtVal(val)} bigger than max of ${fmtLimit('max')}`,
              details: x,
              extra_info: receivedInfo(),
            });
            continue;
          }
          if (Array.isArray(inputType)) {
            if (!inputType.some((o) => pyEquals(o, val))) {
              const long = inputType.length > 20;
              errors.push({
                type: 'value_not_in_list',
                message: 'Value not in list',
                details: `${x}: '${pyStr(val)}' not in ${long ? `(list of length ${inputType.length})` : pyRepr(inputType)}`,
                extra_info: { input_name: x, input_config: long ? null : inputConfig, received_value: val },
              });
              continue;
            }
          }
        }
      }
    }

    // Custom validators (VALIDATE_INPUTS): LoadImage / LoadImageMask check the file exists.
    if (validateFnInputs.length > 0) {
      for (const x of validateFnInputs) {
        if (!Object.prototype.hasOwnProperty.call(inputs, x)) continue;
        const v = inputs[x];
        if (Array.isArray(v)) continue; // linked value: not available at validation time
        const value = pyStr(v);
        if (!folders.existsAnnotated(value)) {
          errors.push({
            type: 'custom_validation_failed',
            message: 'Custom validation failed for node',
            details: `${x} - Invalid image file: ${value}`,
            extra_info: { input_name: x },
          });
        }
      }
    }

    const verdict: Verdict = errors.length > 0 || !valid ? [false, errors, uniqueId] : [true, [], uniqueId];
    // In a cycle an inner failure may already be recorded for this node: keep its reasons.
    const prior = validated.get(uniqueId);
    if (prior && prior[1].length > 0 && errors.length === 0) return prior;
    validated.set(uniqueId, verdict);
    return verdict;
  };

  const good: string[] = [];
  const failures: Array<[string, ValidationErrorItem[]]> = [];
  const nodeErrors: Record<string, NodeErrors> = {};
  for (const o of outputs) {
    let ok = false;
    let reasons: ValidationErrorItem[] = [];
    try {
      const m = await validateInputs(o);
      ok = m[0];
      reasons = m[1];
    } catch (e) {
      const ex = asPyException(e);
      ok = false;
      reasons = [
        {
          type: 'exception_during_validation',
          message: 'Exception when validating node',
          details: ex.text,
          extra_info: { exception_type: ex.pyType, traceback: tracebackFor([TB_TOP, ...ex.where]) },
        },
      ];
      validated.set(o, [false, reasons, o]);
    }
    if (ok) {
      good.push(o);
    } else {
      failures.push([o, reasons]);
      for (const [nodeId, result] of validated) {
        if (result[0] !== true && result[1].length > 0) {
          if (!nodeErrors[nodeId]) {
            const n = prompt[nodeId];
            nodeErrors[nodeId] = {
              errors: result[1],
              dependent_outputs: [],
              class_type: isObject(n) ? (n.class_type as string) : '',
            };
          }
          nodeErrors[nodeId].dependent_outputs.push(o);
        }
      }
    }
  }
  if (good.length === 0) {
    const lines: string[] = [];
    for (const [, errs] of failures) for (const err of errs) lines.push(`${err.message}: ${err.details}`);
    return {
      ok: false,
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: lines.join('\n'),
        extra_info: {},
      },
      outputs: [],
      nodeErrors,
    };
  }
  return { ok: true, error: null, outputs: good, nodeErrors };
}

function fail(error: ValidationErrorItem): ValidationResult {
  return { ok: false, error, outputs: [], nodeErrors: {} };
}

function asPyException(e: unknown): PyException {
  if (e instanceof PyException) return e;
  const err = e as Error;
  return new PyException('Exception', err?.message ?? String(e), []);
}

/** Python == between a combo option and a received value (1 == 1.0 == True). */
function pyEquals(a: unknown, b: unknown): boolean {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  return a === b;
}
