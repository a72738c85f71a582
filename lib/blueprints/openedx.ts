import { z } from 'zod'

/** Open edX named releases this control plane can deploy, newest last. */
export const OPENEDX_RELEASES = ['redwood.3', 'sumac.3', 'teak.2', 'ulmo.1'] as const

export type TOpenedxRelease = (typeof OPENEDX_RELEASES)[number]

/**
 * The git tag of each release in the openedx repositories. Open edX moved its tags from "open-release/" to
 * "release/" between Sumac and Teak; a Record keyed by the release makes adding a release without its tag a
 * compile error.
 */
export const OPENEDX_RELEASE_GIT_REFS: Record<TOpenedxRelease, string> = {
  'redwood.3': 'open-release/redwood.3',
  'sumac.3': 'open-release/sumac.3',
  'teak.2': 'release/teak.2',
  'ulmo.1': 'release/ulmo.1',
}

export const ZOpenedxFeatures = z
  .object({
    allowPublicAccountCreation: z.boolean().default(true).describe('Visitors may register their own learner account.'),
    enableCertificates: z.boolean().default(true).describe('Courses may issue certificates.'),
    enableDiscussions: z.boolean().default(true).describe('Course discussion forums.'),
    enableCourseDiscovery: z.boolean().default(false).describe('Searchable course catalogue.'),
    enableThirdPartyAuth: z.boolean().default(false).describe('Sign-in through external identity providers.'),
  })
  .strict()

export const ZOpenedxSettings = z
  .object({
    release: z.enum(OPENEDX_RELEASES).describe('Open edX release the appservers run.'),
    platformName: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters').describe('Name shown to learners.'),
    contactEmail: z.email('must be an email address').describe('Address learners write to for support.'),
    features: ZOpenedxFeatures.default(ZOpenedxFeatures.parse({})),
  })
  .strict()
  .describe('Settings of an Open edX instance.')

export type TOpenedxSettings = z.infer<typeof ZOpenedxSettings>
