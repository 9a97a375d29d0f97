// The facility settings people change, as a form in the order they are set up: who the facility is, how the hub
// recognises its messages (AE titles, MSH-4), where its studies and reports go, its staff and what it is billed.
// Everything else of the facility is kept as it is and edited in the JSON view.
import { Fieldset, Group, SimpleGrid, Stack, Switch } from '@mantine/core';
import { BillingTable } from './BillingTable.tsx';
import { NumberField, SelectField, TextField } from './fields.tsx';
import { useFacilityForm } from './form-context.ts';
import { StaffTable } from './StaffTable.tsx';
import { StringList } from './StringList.tsx';

/** exams/report-destinations.ts oruVersions. */
const oruVersions = ['2.3', '2.4', '2.5.1'] as const;

export function FacilityForm({ isNew }: { isNew: boolean }) {
  const { draft, set, readOnly } = useFacilityForm();
  return (
    <Stack gap="md">
      <Fieldset legend="Facility">
        <Group align="flex-start" gap="lg">
          <TextField
            path={['code']}
            label="Code"
            required
            w={200}
            locked={!isNew}
            keepEmpty
            description={isNew ? 'Letters, digits, . _ -' : 'Exams and users name it'}
          />
          <TextField path={['name']} label="Name" required w={360} keepEmpty description="As people know it" />
          <Switch
            label="Active"
            mt={34}
            checked={draft['active'] !== false}
            disabled={readOnly}
            data-path="active"
            onChange={(e) => set(['active'], e.currentTarget.checked)}
          />
        </Group>
      </Fieldset>

      <Fieldset legend="How the hub recognises the facility">
        <SimpleGrid cols={2} spacing="lg">
          <StringList
            field="aeTitles"
            noun="AE title"
            label="DICOM AE titles"
            description="Calling AE titles of its modalities and PACS (1–16 characters)"
          />
          <StringList
            field="sendingFacilities"
            noun="MSH-4 code"
            label="HL7 sending facility (MSH-4)"
            description="Codes its RIS and EHR send in MSH-4"
          />
        </SimpleGrid>
      </Fieldset>

      <Fieldset legend="Radiologist PACS (where its studies go)">
        <Group align="flex-start" gap="lg">
          <TextField path={['radiologistPacs', 'aeTitle']} label="PACS AE title" w={200} />
          <TextField path={['radiologistPacs', 'host']} label="PACS host" w={260} />
          <NumberField path={['radiologistPacs', 'port']} label="PACS port" w={120} min={1} />
        </Group>
      </Fieldset>

      <Fieldset legend="Report destinations">
        <Stack gap="sm">
          <Group align="flex-start" gap="lg">
            <TextField path={['reportDestinations', 'ehrMllp', 'host']} label="EHR MLLP host" w={260} />
            <NumberField path={['reportDestinations', 'ehrMllp', 'port']} label="EHR MLLP port" w={120} min={1} />
            <SelectField
              path={['reportDestinations', 'ehrMllp', 'version']}
              label="HL7 version (MSH-12)"
              w={180}
              options={oruVersions}
              noneLabel="default (2.5.1)"
            />
          </Group>
          <SimpleGrid cols={3} spacing="lg">
            <TextField
              path={['reportDestinations', 'ehrFhirBaseUrl']}
              label="EHR FHIR base URL"
              placeholder="https://ehr.example/fhir/R4"
            />
            <TextField path={['reportDestinations', 'fax']} label="Reports by fax" placeholder="+15555550199" />
            <TextField
              path={['reportDestinations', 'email']}
              label="Reports by e-mail"
              placeholder="reports@facility.example"
            />
          </SimpleGrid>
        </Stack>
      </Fieldset>

      <Fieldset legend="Technicians">
        <StaffTable field="technicians" noun="Technician" />
      </Fieldset>
      <Fieldset legend="Radiologists">
        <StaffTable field="radiologists" noun="Radiologist" />
      </Fieldset>
      <Fieldset legend="Billing rules (the first that matches an exam prices it)">
        <BillingTable />
      </Fieldset>
    </Stack>
  );
}
