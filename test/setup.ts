// Shared test setup. Nothing here mocks a real component.
export {};
