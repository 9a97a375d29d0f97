// A zero-footprint study viewer: the hub renders each frame (WADO-RS rendered, scaled to the pane, windowed on
// request) and the browser only shows pictures, so no pixel data, codec or GPU is needed on the reading
// workstation and no image leaves the hub. Series down the side, one stack in the pane: wheel, arrow keys, Page
// Up/Down, Home/End or the slider walk it; the neighbours are fetched ahead so scrolling does not wait.
import {
  Anchor,
  Badge,
  Box,
  Group,
  Image,
  ScrollArea,
  SegmentedControl,
  Slider,
  Stack,
  Text,
  UnstyledButton,
} from '@mantine/core';
import { useElementSize } from '@mantine/hooks';
import { type KeyboardEvent, type WheelEvent, useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import {
  dicomDate,
  imageSource,
  loadStudy,
  personName,
  type SeriesStack,
  type StudyStacks,
  type WindowPreset,
  windowPresets,
} from './study-stack.ts';

/** `dicomweb`: where the images are read, the session's `/dicomweb` unless a consultant link gives its own. */
export function StudyViewerScreen({ dicomweb = '/dicomweb' }: { dicomweb?: string }) {
  const uid = useParams()['study'] ?? '';
  const study = useLoad(() => loadStudy(uid, dicomweb), [uid, dicomweb]);
  return <Loadable loaded={study}>{(loaded) => <Viewer study={loaded} />}</Loadable>;
}

function Viewer({ study }: { study: StudyStacks }) {
  const navigate = useNavigate();
  const [seriesIndex, setSeriesIndex] = useState(0);
  const series = study.series[seriesIndex];
  return (
    <Stack gap="xs" h="calc(100vh - 88px)">
      <Group justify="space-between" wrap="nowrap">
        <Group gap="sm" wrap="nowrap">
          <Anchor component="button" type="button" size="sm" c="dimmed" onClick={() => navigate(-1)}>
            ← Back
          </Anchor>
          <Text fw={600} data-testid="viewer-patient">
            {personName(study.patientName) || 'Unnamed patient'}
          </Text>
          <Text size="sm" c="dimmed">
            {[study.patientId, dicomDate(study.studyDate), study.description].filter(Boolean).join(' · ')}
          </Text>
        </Group>
        <Text size="sm" c="dimmed">
          {study.series.length} series
        </Text>
      </Group>
      <Group align="stretch" gap="sm" wrap="nowrap" style={{ flex: 1, minHeight: 0 }}>
        <SeriesList series={study.series} active={seriesIndex} onChoose={setSeriesIndex} />
        {series ? (
          <StackPane key={series.uid} series={series} />
        ) : (
          <Text c="dimmed">This study has no images the hub can show.</Text>
        )}
      </Group>
    </Stack>
  );
}

function SeriesList({
  series,
  active,
  onChoose,
}: {
  series: SeriesStack[];
  active: number;
  onChoose(i: number): void;
}) {
  return (
    <ScrollArea w={150} type="auto" aria-label="Series">
      <Stack gap={6}>
        {series.map((item, index) => (
          <UnstyledButton
            key={item.uid}
            onClick={() => onChoose(index)}
            aria-pressed={index === active}
            p={4}
            style={{
              borderRadius: 6,
              border: `2px solid ${index === active ? 'var(--mantine-color-blue-6)' : 'transparent'}`,
            }}
          >
            <Image src={item.thumbnail} alt="" w={96} h={96} fit="contain" bg="black" radius="sm" />
            <Text size="xs" fw={600} mt={2}>
              {item.modality} {item.number ?? ''}
            </Text>
            <Text size="xs" c="dimmed" lineClamp={2}>
              {item.description || 'No description'} · {item.images.length} img
            </Text>
          </UnstyledButton>
        ))}
      </Stack>
    </ScrollArea>
  );
}

const stepKeys: Record<string, number> = {
  ArrowDown: 1,
  ArrowRight: 1,
  ArrowUp: -1,
  ArrowLeft: -1,
  PageDown: 10,
  PageUp: -10,
};

function StackPane({ series }: { series: SeriesStack }) {
  const { ref, width, height } = useElementSize();
  const [position, setPosition] = useState(0);
  const [windowPreset, setWindowPreset] = useState<WindowPreset>('default');
  const last = series.images.length - 1;
  const go = (next: number) => setPosition(Math.min(last, Math.max(0, next)));
  const box = useMemo(() => ({ width: Math.max(1, width), height: Math.max(1, height) }), [width, height]);
  const image = series.images[position];

  // Fetch the neighbours ahead: the browser keeps decoded images of this page, so the next step shows at once.
  useEffect(() => {
    if (width === 0) return;
    for (const offset of [1, 2, 3, -1]) {
      const neighbour = series.images[position + offset];
      if (neighbour) new window.Image().src = imageSource(neighbour, box, windowPreset);
    }
  }, [position, series, box, width, windowPreset]);

  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'Home') go(0);
    else if (event.key === 'End') go(last);
    else if (stepKeys[event.key] !== undefined) go(position + stepKeys[event.key]!);
    else return;
    event.preventDefault();
  };
  const onWheel = (event: WheelEvent) => go(position + Math.sign(event.deltaY));

  return (
    <Stack gap="xs" style={{ flex: 1, minWidth: 0 }}>
      <Group justify="space-between" wrap="nowrap">
        <SegmentedControl
          size="xs"
          value={windowPreset}
          onChange={(value) => setWindowPreset(value as WindowPreset)}
          data={windowPresets.map((preset) => ({ ...preset }))}
          aria-label="Window"
        />
        <Badge variant="light" data-testid="viewer-position">
          Image {position + 1} / {series.images.length}
          {image && image.frames > 1 ? ` · frame ${image.frame}/${image.frames}` : ''}
        </Badge>
      </Group>
      <Box
        ref={ref}
        tabIndex={0}
        onKeyDown={onKey}
        onWheel={onWheel}
        aria-label="Image; arrow keys, Page Up/Down, Home and End move through the series"
        bg="black"
        style={{
          flex: 1,
          minHeight: 0,
          borderRadius: 6,
          display: 'flex',
          alignItems: 'center',
          justifyContent: 'center',
        }}
      >
        {image && width > 0 && (
          <img
            src={imageSource(image, box, windowPreset)}
            alt={`${series.modality} series ${series.number ?? ''}, ${position + 1} of ${series.images.length}`}
            data-testid="viewer-image"
            style={{ width: '100%', height: '100%', objectFit: 'contain' }}
          />
        )}
      </Box>
      {last > 0 && (
        <Slider min={0} max={last} value={position} onChange={go} label={(n) => n + 1} aria-label="Image in series" />
      )}
    </Stack>
  );
}
