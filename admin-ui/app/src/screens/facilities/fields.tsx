// The facility form's controls: each edits one path of the draft, shows the hub's issue at that path under
// itself, and carries the path in `data-path` so a refused save can put the cursor on the first wrong field.
import { NumberInput, Select, TextInput } from '@mantine/core';
import { type Key, optionalText, pathText, textAt, valueAt } from './draft.ts';
import { useFacilityForm } from './form-context.ts';
import { useIssueAt } from './issues.ts';

interface FieldProps {
  path: readonly Key[];
  label: string;
  /** The visible label is the column header; the control keeps a full name for screen readers. */
  hideLabel?: boolean;
  description?: string;
  placeholder?: string;
  required?: boolean;
  /** Locked even for a user who may edit (the code of a facility that exists: exams and users name it). */
  locked?: boolean;
  w?: number | string;
}

function labelProps({ label, hideLabel }: FieldProps) {
  return hideLabel ? { 'aria-label': label } : { label };
}

/** Text; an empty optional field is left out of the facility, a list item stays an empty string. */
export function TextField(props: FieldProps & { keepEmpty?: boolean }) {
  const { draft, set, readOnly } = useFacilityForm();
  const { path, keepEmpty = false } = props;
  const error = useIssueAt(pathText(path));
  return (
    <TextInput
      {...labelProps(props)}
      description={props.description}
      placeholder={props.placeholder}
      withAsterisk={props.required && !props.hideLabel && !readOnly}
      w={props.w}
      variant={props.locked && !readOnly ? 'filled' : 'default'}
      value={textAt(draft, path)}
      readOnly={readOnly || props.locked}
      error={error}
      data-path={pathText(path)}
      spellCheck={false}
      onChange={(e) => set(path, keepEmpty ? e.currentTarget.value : optionalText(e.currentTarget.value))}
    />
  );
}

/** A number; cleared, the key is left out. What is not a number is the hub's to refuse, at this field. */
export function NumberField(props: FieldProps & { min?: number; decimals?: boolean }) {
  const { draft, set, readOnly } = useFacilityForm();
  const { path } = props;
  const error = useIssueAt(pathText(path));
  const value = valueAt(draft, path);
  return (
    <NumberInput
      {...labelProps(props)}
      description={props.description}
      placeholder={props.placeholder}
      withAsterisk={props.required && !props.hideLabel && !readOnly}
      w={props.w}
      min={props.min}
      allowDecimal={props.decimals === true}
      hideControls
      value={typeof value === 'number' ? value : ''}
      readOnly={readOnly}
      error={error}
      data-path={pathText(path)}
      onChange={(next) => set(path, typeof next === 'number' ? next : undefined)}
    />
  );
}

/** One of a closed set; "none" (when allowed) leaves the key out. */
export function SelectField(props: FieldProps & { options: readonly string[]; noneLabel?: string }) {
  const { draft, set, readOnly } = useFacilityForm();
  const { path, options, noneLabel } = props;
  const error = useIssueAt(pathText(path));
  const none = '(none)';
  const current = textAt(draft, path);
  const data = [
    ...(noneLabel === undefined ? [] : [{ value: none, label: noneLabel }]),
    ...options.map((o) => ({ value: o, label: o })),
  ];
  return (
    <Select
      {...labelProps(props)}
      description={props.description}
      w={props.w}
      data={data}
      value={current === '' ? (noneLabel === undefined ? null : none) : current}
      readOnly={readOnly}
      allowDeselect={false}
      error={error}
      data-path={pathText(path)}
      onChange={(next) => set(path, next === null || next === none ? undefined : next)}
    />
  );
}
