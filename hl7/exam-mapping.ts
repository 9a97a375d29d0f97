// Which mapping a message gets, by MSH-9: orders (ORM^O01, OMI^O23) or ADT. Older senders leave the trigger
// out of MSH-9 (v2.3 ADT carries it in EVN-1 too, ch. 3.4.1), so the trigger falls back to EVN-1 for ADT and
// ORM/OMI have only one trigger each.
import { mapAdt, type MappedAdt } from './adt-mapping.ts';
import { fieldText } from './field-text.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';
import { mapOrders, type MappedOrders, type MappingContext } from './order-mapping.ts';

export type MappedExamMessage = MappedOrders | MappedAdt;

export function messageTypeOf(message: Hl7Message): { code: string; trigger: string | undefined } {
  const code = fieldText(message, 'MSH-9.1')?.toUpperCase();
  if (code === undefined) throw emptyField('MSH-9', 'the message type');
  const trigger =
    fieldText(message, 'MSH-9.2')?.toUpperCase() ??
    (code === 'ADT' ? fieldText(message, 'EVN-1')?.toUpperCase() : undefined);
  return { code, trigger };
}

export function mapExamMessage(message: Hl7Message, context: MappingContext): MappedExamMessage {
  const { code, trigger } = messageTypeOf(message);
  if (code === 'ORM' && (trigger === undefined || trigger === 'O01')) return mapOrders(message, context);
  if (code === 'OMI' && (trigger === undefined || trigger === 'O23')) return mapOrders(message, context);
  if (code === 'ADT') {
    if (trigger === undefined) throw emptyField('MSH-9.2', 'the ADT trigger event (nor is EVN-1 set)');
    return mapAdt(message, trigger, context);
  }
  const type = trigger === undefined ? code : `${code}^${trigger}`;
  throw new Hl7MappingError(
    'MSH-9',
    `MSH-9: ${type} is not handled by the rso-exams destination (handled: ORM^O01, OMI^O23, ADT)`,
    'unsupported-type',
  );
}
